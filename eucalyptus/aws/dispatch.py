"""The dispatch table: AWS operation name -> handler, and the context a handler receives.

A handler is a plain function named after the operation in snake case and marked with
``@operation``::

    @operation
    def describe_regions(ctx, region_names=None, filters=None, **_):
        return {"Regions": [...]}

It receives the request's top-level members as snake_case keyword arguments (nested values keep
botocore's CamelCase member names, exactly as botocore's model shapes them) and returns a dict in
the operation's output shape. It may be ``async``. It raises ``eucalyptus.errors`` exceptions and
never touches HTTP.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable

from botocore import xform_name

from eucalyptus.errors import InvalidAction


def operation(fn: Callable) -> Callable:
    """Mark ``fn`` as the handler of the AWS operation its name spells in snake case."""
    fn.aws_operation = True
    return fn


@dataclass
class Principal:
    """Who is calling: the authenticated user of an account."""
    account_id: str
    account_name: str
    user_id: str
    user_name: str
    arn: str
    access_key_id: str = ""
    is_root: bool = False          # the account's root (Eucalyptus' account "admin" user)
    is_cloud_admin: bool = False   # root of the "eucalyptus" account: administers the cloud
    session_token: str | None = None
    path: str = "/"


@dataclass
class RequestContext:
    """Everything a handler may need about the request, and the component serving it."""
    request_id: str
    service: str
    operation: str
    region: str
    principal: Principal | None = None
    db: Any = None                 # SQLAlchemy Session, committed by the gateway on success
    settings: Any = None           # eucalyptus.config.Settings
    component: Any = None          # the component serving the request (clc, walrus, ...)
    host: str = ""                 # Host header as sent, for building URLs
    scheme: str = "http"
    extra: dict = field(default_factory=dict)

    @property
    def account_id(self) -> str:
        return self.principal.account_id if self.principal else ""


class DispatchTable:
    """Handlers of one service, found by their ``@operation`` mark in the given modules."""

    def __init__(self, service: str, modules: list[ModuleType]):
        self.service = service
        self.handlers: dict[str, Callable] = {}
        for module in modules:
            for name, fn in vars(module).items():
                if callable(fn) and getattr(fn, "aws_operation", False) is True:
                    self.handlers[name] = fn

    def handler_for(self, operation_name: str) -> Callable:
        fn = self.handlers.get(xform_name(operation_name))
        if fn is None:
            raise InvalidAction(f"The action {operation_name} is not valid for this web service.")
        return fn

    async def call(self, ctx: RequestContext, params: dict[str, Any]) -> dict:
        fn = self.handler_for(ctx.operation)
        kwargs = {xform_name(k): v for k, v in params.items()}
        result = fn(ctx, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result or {}
