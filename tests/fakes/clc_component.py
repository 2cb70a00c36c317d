"""A stand-in Cloud Controller for handler tests: fixed clusters, real settings shape.

``FakeClc(clusters)`` answers ``cluster_resources()`` with copies of the given cluster dicts
(``zone``, ``state``, ``cc_url``, ``nodes``), the contract the real CLC component keeps.
``node(...)`` and ``cluster(...)`` build those dicts; ``request_context(...)`` builds the
RequestContext a handler receives.
"""
from __future__ import annotations

import copy
from types import SimpleNamespace

from eucalyptus.aws.dispatch import Principal, RequestContext


def node(host: str = "10.0.0.1", cores: int = 4, memory_mib: int = 1024, disk_gib: int = 20,
         cores_free: int | None = None, memory_free_mib: int | None = None,
         disk_free_gib: int | None = None) -> dict:
    """One node's resource report; free figures default to the totals."""
    return {"host": host, "cores_total": cores, "memory_total_mib": memory_mib,
            "disk_total_gib": disk_gib,
            "cores_free": cores if cores_free is None else cores_free,
            "memory_free_mib": memory_mib if memory_free_mib is None else memory_free_mib,
            "disk_free_gib": disk_gib if disk_free_gib is None else disk_free_gib}


def cluster(zone: str, nodes: list[dict] | None = None, state: str = "available") -> dict:
    return {"zone": zone, "state": state, "cc_url": f"http://127.0.0.1:8774/{zone}",
            "nodes": list(nodes or [])}


class FakeClc:
    """Holds clusters the test sets; counts calls so tests can see it was asked."""

    def __init__(self, clusters: list[dict] | None = None, region: str = "eucalyptus"):
        self.clusters = list(clusters or [])
        self.settings = SimpleNamespace(region=region)
        self.calls = 0

    async def cluster_resources(self) -> list[dict]:
        self.calls += 1
        return copy.deepcopy(self.clusters)


def request_context(session, component: FakeClc | None = None, operation: str = "",
                    host: str = "127.0.0.1:8773", scheme: str = "http",
                    account_id: str = "123456789012") -> RequestContext:
    component = component or FakeClc()
    principal = Principal(account_id=account_id, account_name="test", user_id="AIDATEST",
                          user_name="admin", arn=f"arn:aws:iam::{account_id}:user/admin",
                          is_root=True)
    return RequestContext(request_id="req-1", service="ec2", operation=operation,
                          region=component.settings.region, principal=principal, db=session,
                          settings=component.settings, component=component, host=host,
                          scheme=scheme)
