"""Typed messages of the internal API, as dataclasses with a JSON form.

``to_wire(msg)`` gives a JSON-ready dict; ``from_wire(cls, data)`` builds ``cls`` back,
checking field names and converting nested dataclasses (also inside ``list[...]``). A message
with a missing or unknown field raises ``ValidationError`` so a bad request is a 400, never a 500.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eucalyptus.errors import ValidationError

T = TypeVar("T")


def to_wire(msg: Any) -> Any:
    if dataclasses.is_dataclass(msg):
        return {f.name: to_wire(getattr(msg, f.name)) for f in dataclasses.fields(msg)}
    if isinstance(msg, (list, tuple)):
        return [to_wire(v) for v in msg]
    if isinstance(msg, dict):
        return {k: to_wire(v) for k, v in msg.items()}
    return msg


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(tp):
            return None
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(inner, value, where)
    if dataclasses.is_dataclass(tp):
        return from_wire(tp, value)
    if origin is list:
        if not isinstance(value, list):
            raise ValidationError(f"{where} must be a list")
        (inner,) = typing.get_args(tp)
        return [_convert(inner, v, where) for v in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise ValidationError(f"{where} must be an object")
        return dict(value)
    if tp in (int, str, bool, float):
        if tp is int and isinstance(value, bool) or not isinstance(value, tp):
            if not (tp is float and isinstance(value, int)):
                raise ValidationError(f"{where} must be of type {tp.__name__}")
    return value


def from_wire(cls: type[T], data: Any) -> T:
    """``cls`` built from its wire form; ValidationError on a missing/unknown/mistyped field."""
    if not isinstance(data, dict):
        raise ValidationError(f"{cls.__name__} must be a JSON object")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValidationError(f"{cls.__name__}: unknown field(s) {', '.join(sorted(unknown))}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name], f"{cls.__name__}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ValidationError(f"{cls.__name__}: missing field {f.name}")
    return cls(**kwargs)


@dataclass
class Health:
    """A component's health: ``status`` is "ok" when it serves requests."""
    component: str
    status: str
    pid: int
    uptime_s: float
    url: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class NodeResources:
    """What one node controller offers and has free."""
    host: str
    cores_total: int
    cores_free: int
    memory_total_mib: int
    memory_free_mib: int
    disk_total_gib: int
    disk_free_gib: int
    instances: int = 0
    hypervisor: str = ""


@dataclass
class NodeStatus:
    """The cluster controller's soft-state view of one registered node."""
    address: str
    state: str                      # "up" | "down" | "unknown"
    last_seen: float = 0.0          # epoch seconds of the last good poll
    error: str = ""
    resources: NodeResources | None = None
    enabled: bool = True            # False: disabled by the admin, takes no new instances


@dataclass
class ClusterResources:
    """The cluster controller's answer to ``describe resources``."""
    zone: str
    nodes: list[NodeStatus]


@dataclass
class NodeAddresses:
    """``host[:port]`` addresses for register/deregister-nodes."""
    nodes: list[str]


@dataclass
class PropertyQuery:
    """Names of cloud properties to read; empty means all."""
    names: list[str] = field(default_factory=list)


@dataclass
class PropertyUpdate:
    values: dict[str, str]


@dataclass
class PropertyValue:
    name: str
    value: str
    default: str
    type: str
    description: str


@dataclass
class PropertyList:
    properties: list[PropertyValue]


@dataclass
class CredentialsQuery:
    account: str
    user: str


@dataclass
class CredentialsGrant:
    account_id: str
    arn: str
    access_key_id: str
    secret_access_key: str
