"""Wire protocols, driven by botocore's service models.

``protocol_for(service_model)`` returns the protocol module (``ec2``, ``query``, ``json`` or
``restxml``) offering::

    parse(request: HttpRequest, service_model) -> (OperationModel, params)
    serialize(operation_model, result: dict, request_id: str) -> HttpResponse
    serialize_error(error: ServiceError, request_id: str, service_model, *, method="")
        -> HttpResponse                      # method="HEAD" gives an empty body

``params`` holds the operation's input members under botocore's names with Python values
(int, float, bool, aware UTC datetime, bytes, str, lists, dicts), exactly what one would pass to
a botocore client call. A service that speaks several protocols (CloudWatch: json or query)
uses the first one listed in its model that we implement, unless ``protocol`` names one.
"""
from __future__ import annotations

from importlib import import_module
from types import ModuleType

MODULES = {"ec2": "ec2", "query": "query", "json": "json", "rest-xml": "restxml"}


def supported_protocols(service_model) -> list[str]:
    """The protocols of ``service_model`` that we implement, in the model's order."""
    listed = service_model.metadata.get("protocols") or [service_model.metadata["protocol"]]
    return [name for name in listed if name in MODULES]


def protocol_for(service_model, protocol: str | None = None) -> ModuleType:
    """The module implementing ``protocol`` (default: the service's first supported one)."""
    if protocol is None:
        available = supported_protocols(service_model)
        if not available:
            raise ValueError(f"no supported protocol for {service_model.service_name}")
        protocol = available[0]
    if protocol not in MODULES:
        raise ValueError(f"unsupported protocol {protocol!r}")
    return import_module(f"{__name__}.{MODULES[protocol]}")
