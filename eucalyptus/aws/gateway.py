"""The front door: route -> authenticate -> parse -> authorize -> dispatch -> serialize.

Service-agnostic: a component hands it the services it serves (``ServiceBinding``: model,
dispatch table, optional resource-ARN function and the actions any authenticated caller may
call) and an ``IdentityProvider`` (credential lookup and authorization). Every failure becomes
the service's own error document through ``aws/protocol/errors.py``; an unexpected exception is
logged and answered as InternalError, never leaked.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from aiohttp import web
from botocore.model import ServiceModel

from eucalyptus import errors, ids
from eucalyptus.aws import protocol
from eucalyptus.aws.auth import SignedRequest, authenticate
from eucalyptus.aws.dispatch import DispatchTable, RequestContext
from eucalyptus.aws.http import HttpRequest, HttpResponse
from eucalyptus.aws.routing import Route, route

log = logging.getLogger("eucalyptus.gateway")


class IdentityProvider(Protocol):
    def lookup_credentials(self, session: Any, access_key_id: str) -> Any: ...
    def authorize(self, session: Any, principal: Any, action: str, resource: str) -> None: ...
    def delegate(self, session: Any, principal: Any, account_name: str) -> Any: ...
    def record_key_use(self, session: Any, access_key_id: str, service: str,
                       region: str) -> None: ...


@dataclass
class ServiceBinding:
    model: ServiceModel
    table: DispatchTable
    resource_arn: Callable[[RequestContext, dict], str] | None = None
    public_actions: frozenset[str] = field(default_factory=frozenset)
    delegable: bool = False   # honours Eucalyptus' DelegateAccount (the cloud admin acting
                              # as another account's root)

    @property
    def action_prefix(self) -> str:
        return self.model.signing_name or self.model.endpoint_prefix


class Gateway:
    def __init__(self, services: dict[str, ServiceBinding], identity: IdentityProvider,
                 component: Any):
        self.services = services
        self.identity = identity
        self.component = component
        self.models = {name: binding.model for name, binding in services.items()}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        signed = SignedRequest.from_parts(request.method, request.raw_path, request.headers, body)
        response = await self.respond(signed, request.host, request.scheme)
        return web.Response(status=response.status, headers=response.headers, body=response.body)

    async def respond(self, signed: SignedRequest, host: str, scheme: str) -> HttpResponse:
        started = time.perf_counter()
        request_id = ids.request_id()
        where = route(signed, self.models)
        binding = self.services[where.service]
        operation = "-"
        try:
            operation, response = await self._serve(signed, where, binding, request_id, host,
                                                    scheme)
        except errors.ServiceError as exc:
            response = protocol.protocol_for(binding.model).serialize_error(
                exc, request_id, binding.model, method=signed.method)
        except Exception:
            log.exception("internal error in %s %s (request %s)", where.service, operation,
                          request_id)
            response = protocol.protocol_for(binding.model).serialize_error(
                errors.InternalError("We encountered an internal error. Please try again."),
                request_id, binding.model, method=signed.method)
        log.info("%s %s %s %d %.1fms", where.service, operation, request_id, response.status,
                 (time.perf_counter() - started) * 1000)
        return response

    async def _serve(self, signed: SignedRequest, where: Route, binding: ServiceBinding,
                     request_id: str, host: str, scheme: str) -> tuple[str, HttpResponse]:
        wire = protocol.protocol_for(binding.model)
        with self.component.db.session() as session:
            cred = authenticate(signed, where.service,
                                lambda key: self.identity.lookup_credentials(session, key))
            http = HttpRequest(method=signed.method, path=signed.raw_path[len(where.prefix):] or "/",
                               query=signed.query_pairs(), headers=signed.headers, body=signed.body)
            op_model, params = wire.parse(http, binding.model)
            principal = cred.principal
            delegate_to = signed.params().get("DelegateAccount")
            if delegate_to and binding.delegable:
                principal = self.identity.delegate(session, principal, delegate_to)
            region = self.component.settings.region
            self.identity.record_key_use(session, cred.principal.access_key_id, where.service,
                                         region)
            ctx = RequestContext(request_id=request_id, service=where.service,
                                 operation=op_model.name, region=region,
                                 principal=principal, db=session,
                                 settings=self.component.settings, component=self.component,
                                 host=host, scheme=scheme)
            if op_model.name not in binding.public_actions:
                resource = binding.resource_arn(ctx, params) if binding.resource_arn else "*"
                action = f"{binding.action_prefix}:{op_model.name}"
                try:
                    self.identity.authorize(session, principal, action, resource)
                except errors.AccessDenied as denied:
                    if where.service == "ec2":   # EC2 names the same refusal differently
                        raise errors.AccessDenied("UnauthorizedOperation",
                                                  "You are not authorized to perform this "
                                                  "operation.") from denied
                    raise
            if params.get("DryRun"):
                binding.table.handler_for(op_model.name)   # served at all?
                raise errors.ServiceError("DryRunOperation", "Request would have succeeded, "
                                          "but DryRun flag is set.", status=412)
            result = await binding.table.call(ctx, params)
            return op_model.name, wire.serialize(op_model, result, request_id)
