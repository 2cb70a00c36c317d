"""``eucalyptus serve <component>``: run one component in the foreground."""
from __future__ import annotations

from eucalyptus.config import Settings
from eucalyptus.rpc.service import Component, configure_logging, serve


def build(settings: Settings, name: str) -> Component:
    """The component object called ``name`` (clc, walrus, sc, cc or nc)."""
    if name == "clc":
        from eucalyptus.clc.component import CloudController
        return CloudController(settings)
    if name == "walrus":
        from eucalyptus.walrus.component import Walrus
        return Walrus(settings)
    if name == "sc":
        from eucalyptus.sc.component import StorageController
        return StorageController(settings)
    if name == "cc":
        from eucalyptus.cc.component import ClusterController
        return ClusterController(settings)
    if name == "nc":
        from eucalyptus.nc.component import NodeController
        return NodeController(settings)
    raise ValueError(f"unknown component {name!r}")


def serve_component(settings: Settings, name: str) -> int:
    configure_logging(settings)
    if name == "walrus":   # a master process with several workers on one port
        from eucalyptus.walrus.workers import serve_walrus
        return serve_walrus(settings)
    serve(build(settings, name))
    return 0
