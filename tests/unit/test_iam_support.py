"""Shared set-up for the IAM/STS unit tests (no tests here; the fixtures are in conftest.py).

``World`` wraps a fresh migrated SQLite database. ``world.call(principal, handler, **params)``
runs a handler the way the gateway does — own session, commit on success, rollback on error —
and checks the result against the operation's botocore output shape when the model has it.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from pathlib import Path
from typing import Any, Callable

import botocore.session
from botocore import xform_name

from eucalyptus.aws.dispatch import Principal, RequestContext
from eucalyptus.db.engine import Database, sqlite_url
from eucalyptus.services.iam import identity
from eucalyptus.services.iam.accounts import create_account

_MODELS: dict[str, Any] = {}
_TEMPLATE: dict[str, Path] = {}


def _model(service: str):
    if service not in _MODELS:
        try:        # the gateway's models: botocore's plus our overlays (account operations)
            from eucalyptus.aws.specs import service_model
            _MODELS[service] = service_model(service)
        except ImportError:
            _MODELS[service] = botocore.session.get_session().get_service_model(service)
    return _MODELS[service]


def _operation_name(service: str, handler: Callable) -> str | None:
    model = _model(service)
    for name in model.operation_names:
        if xform_name(name) == handler.__name__:
            return name
    return None


def check_shape(shape, value: Any, where: str = "") -> None:
    """Assert ``value`` fits botocore ``shape``: known members, required ones present, types."""
    if shape is None:
        assert value in ({}, None), f"{where}: expected no output, got {value!r}"
        return
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), f"{where}: {value!r} is not a structure"
        unknown = set(value) - set(shape.members)
        assert not unknown, f"{where}: unknown members {unknown}"
        missing = set(shape.required_members) - set(value)
        assert not missing, f"{where}: missing required {missing}"
        for k, v in value.items():
            check_shape(shape.members[k], v, f"{where}.{k}")
    elif kind == "list":
        assert isinstance(value, list), f"{where}: {value!r} is not a list"
        for i, v in enumerate(value):
            check_shape(shape.member, v, f"{where}[{i}]")
    elif kind == "string":
        assert isinstance(value, str), f"{where}: {value!r} is not a string"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{where}: {value!r} is not a boolean"
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r}"
    elif kind == "timestamp":
        assert isinstance(value, dt.datetime) and value.tzinfo is not None, f"{where}: {value!r}"


def policy_text(action: str = "ec2:*", effect: str = "Allow", resource: str = "*") -> str:
    """A policy document of one statement, as the JSON text IAM requests carry."""
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": effect, "Action": action, "Resource": resource}]})


def template_db(tmp_root: Path) -> Path:
    """A migrated empty database file, made once per test session and copied per test."""
    if "path" not in _TEMPLATE:
        path = tmp_root / "template.db"
        Database(sqlite_url(path)).dispose()
        _TEMPLATE["path"] = path
    return _TEMPLATE["path"]


class World:
    def __init__(self, directory: Path, template: Path):
        path = directory / f"iam-{uuid.uuid4().hex}.db"
        shutil.copy(template, path)
        self.db = Database(sqlite_url(path))
        with self.db.session() as s:
            boot = identity.bootstrap(s)
        self.admin = self.principal_of(boot.access_key_id)

    def principal_of(self, access_key_id: str) -> Principal:
        with self.db.session() as s:
            cred = identity.lookup_credentials(s, access_key_id)
        assert cred is not None
        return cred.principal

    def call(self, principal: Principal | None, handler: Callable, service: str = "iam",
             **params) -> dict:
        op = _operation_name(service, handler) or handler.__name__
        with self.db.session() as s:
            ctx = RequestContext(request_id=str(uuid.uuid4()), service=service, operation=op,
                                 region="eucalyptus", principal=principal, db=s)
            result = handler(ctx, **params)
        if op in _model(service).operation_names:
            check_shape(_model(service).operation_model(op).output_shape, result, op)
        return result

    def account(self, name: str) -> Principal:
        """Create account ``name`` as the cloud admin; return its root's principal."""
        self.call(self.admin, create_account, account_name=name)
        return self.user(name, "admin")

    def user(self, account_name: str, user_name: str) -> Principal:
        """The principal of an existing user (a key is made for it if it has none)."""
        with self.db.session() as s:
            creds = identity.credentials_for(s, account_name, user_name)
        return self.principal_of(creds.access_key_id)

    def session(self):
        return self.db.session()

    def close(self) -> None:
        self.db.dispose()


def make_world(tmp_path: Path, tmp_path_factory) -> World:
    return World(tmp_path, template_db(tmp_path_factory.getbasetemp()))
