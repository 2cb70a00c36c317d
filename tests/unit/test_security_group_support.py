"""Shared set-up of the security-group and address unit tests (no tests here).

``Net(tmp_path, tmp_path_factory, mode=..., pool=...)`` is a migrated SQLite database with two
accounts (A, B) and the cloud admin's, settings with the network mode and public pool, and a
component whose network sync records what would be pushed (``net.pushed``: one Changes per
committed request). ``net.call(op, account, **params)`` runs the EC2 handler the way the
gateway does (own session, commit on success) and checks the output against botocore's shape.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import uuid
from types import SimpleNamespace

import pytest

from eucalyptus.aws.dispatch import DispatchTable, Principal, RequestContext
from eucalyptus.db.compute import Instance, Reservation
from eucalyptus.db.engine import Database, sqlite_url
from eucalyptus.db.schema import Account
from eucalyptus.errors import ServiceError
from eucalyptus.services import ec2
from tests.unit.test_iam_support import _model, check_shape, template_db

TABLE = DispatchTable("ec2", ec2.HANDLER_MODULES)
A, B, ADMIN = "111111111111", "222222222222", "333333333333"


class Net:
    def __init__(self, tmp_path, tmp_path_factory, mode: str = "MANAGED-NOVLAN",
                 pool: tuple[str, ...] = ("10.88.0.50-10.88.0.53",)):
        path = tmp_path / f"net-{uuid.uuid4().hex}.db"
        shutil.copy(template_db(tmp_path_factory.getbasetemp()), path)
        self.db = Database(sqlite_url(path))
        with self.db.session() as s:
            s.add_all([Account(id=A, name="alpha"), Account(id=B, name="beta"),
                       Account(id=ADMIN, name="eucalyptus")])
        self.settings = SimpleNamespace(region="eucalyptus", zone="eucalyptus-1a",
                                        vnet_mode=mode, vnet_publicips=pool)
        self.pushed: list = []
        self.component = SimpleNamespace(settings=self.settings,
                                         network_sync=SimpleNamespace(notify=self.pushed.append))

    def context(self, session, op: str, account: str) -> RequestContext:
        principal = Principal(account_id=account, account_name="x", user_id="AIDATEST",
                              user_name="admin", arn=f"arn:aws:iam::{account}:user/admin",
                              is_root=True, is_cloud_admin=account == ADMIN)
        return RequestContext(request_id="req", service="ec2", operation=op,
                              region="eucalyptus", principal=principal, db=session,
                              settings=self.settings, component=self.component)

    def call(self, op: str, account: str = A, **params) -> dict:
        with self.db.session() as s:
            out = asyncio.run(TABLE.call(self.context(s, op, account), params))
        shape = _model("ec2").operation_model(op).output_shape
        check_shape(shape, out, op)
        return out

    def code(self, op: str, account: str = A, **params) -> str:
        with pytest.raises(ServiceError) as err:
            self.call(op, account, **params)
        return err.value.code

    def instance(self, account: str = A, groups: list | None = None, state: str = "running",
                 private_ip: str = "10.77.0.9") -> str:
        """A recorded instance (no cluster involved) in ``groups`` ([[id, name]])."""
        iid = "i-" + uuid.uuid4().hex[:8]
        rid = "r-" + uuid.uuid4().hex[:8]
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        with self.db.session() as s:
            s.add(Reservation(id=rid, account_id=account, security_groups=json.dumps(
                groups or [])))
            s.flush()
            s.add(Instance(id=iid, account_id=account, reservation_id=rid, image_id="emi-1",
                           instance_type="m1.small", zone="eucalyptus-1a", state=state,
                           private_ip=private_ip, launched_at=now, changed_at=now,
                           reported_at=now))
        return iid

    def set_state(self, instance_id: str, state: str) -> None:
        with self.db.session() as s:
            s.get(Instance, instance_id).state = state

    def close(self) -> None:
        self.db.dispose()


@pytest.fixture
def net(tmp_path, tmp_path_factory):
    made = Net(tmp_path, tmp_path_factory)
    yield made
    made.close()
