"""Cloud properties (Eucalyptus' ``euctl``): a declared registry, values in ``cloud_properties``.

Each property has a name, a type, a default and a description. Only set values are stored;
reading an unset property gives its default (which may depend on the settings, e.g.
``region.region_name`` defaults to REGION). Other features read typed values with
``value(session, name, settings)``.

Unknown names and values that do not fit the type raise ``InvalidParameterValue``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy.orm import Session

from eucalyptus.config import KEYS
from eucalyptus.db.schema import CloudProperty
from eucalyptus.errors import InvalidParameterValue
from eucalyptus.rpc.messages import PropertyValue


def _int(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise ValueError("must be an integer") from None
        if n < low or (high is not None and n > high):
            raise ValueError(f"must be between {low} and {high}" if high is not None
                             else f"must be at least {low}")
        return n
    return parse


def _bool(text: str) -> bool:
    value = text.lower()
    if value not in ("true", "false"):
        raise ValueError("must be true or false")
    return value == "true"


@dataclass(frozen=True)
class Property:
    name: str
    type: str
    parse: Callable[[str], Any]
    default: str | Callable[[Any], str]
    description: str

    def default_text(self, settings: Any) -> str:
        return self.default(settings) if callable(self.default) else self.default


PROPERTIES: dict[str, Property] = {p.name: p for p in [
    Property("cloud.vmstate.instance_timeout", "integer", _int(1), "720",
             "Minutes before an instance no cluster reports is marked terminated."),
    Property("cloud.vmstate.terminated_time", "integer", _int(0), "60",
             "Minutes a terminated instance stays visible in DescribeInstances."),
    Property("cloud.compute.max_instances", "integer", _int(0), "20",
             "Running or pending instances one account may hold (max-instances)."),
    Property("cloud.network.max_elastic_ips", "integer", _int(0), "5",
             "Elastic IP addresses one account may allocate (max-elastic-ips)."),
    Property("cloud.vpc.max_elastic_ips", "integer", _int(0), "5",
             "Elastic IP addresses for VPC one account may allocate (vpc-max-elastic-ips)."),
    Property("cloud.vpc.max_security_groups_per_interface", "integer", _int(1), "5",
             "Security groups per network interface (vpc-max-security-groups-per-interface)."),
    Property("cloud.network.max_security_groups", "integer", _int(1), "100",
             "Security groups one account may create."),
    Property("cloud.images.public_by_default", "boolean", _bool, "false",
             "Whether newly registered images are launchable by every account."),
    Property("region.region_name", "string", KEYS["REGION"].parse,
             lambda settings: settings.region if settings is not None else "eucalyptus",
             "Region name this cloud reports (defaults to REGION in eucalyptus.conf)."),
]}


def lookup(name: str) -> Property:
    prop = PROPERTIES.get(name)
    if prop is None:
        raise InvalidParameterValue(f"unknown property: {name}")
    return prop


def _stored(session: Session, names: list[str]) -> dict[str, str]:
    rows = session.query(CloudProperty).filter(CloudProperty.name.in_(names)).all()
    return {row.name: row.value for row in rows}


def describe(session: Session, names: list[str], settings: Any = None) -> list[PropertyValue]:
    """Current values of ``names`` (all properties when empty), in the order asked."""
    wanted = names or sorted(PROPERTIES)
    props = [lookup(n) for n in wanted]
    stored = _stored(session, wanted)
    return [PropertyValue(name=p.name, value=stored.get(p.name, p.default_text(settings)),
                          default=p.default_text(settings), type=p.type,
                          description=p.description) for p in props]


def update(session: Session, values: dict[str, str], settings: Any = None) -> list[PropertyValue]:
    """Set every ``name -> text`` or none: all are validated before any is written."""
    checked = {}
    for name, text in values.items():
        prop = lookup(name)
        try:
            prop.parse(text)
        except ValueError as exc:
            raise InvalidParameterValue(f"bad value {text!r} for {name}: {exc}") from None
        checked[name] = text
    for name, text in checked.items():
        session.merge(CloudProperty(name=name, value=text))
    session.flush()
    return describe(session, list(checked), settings)


def value(session: Session, name: str, settings: Any = None) -> Any:
    """The typed value of one property (its default when unset)."""
    (current,) = describe(session, [name], settings)
    return lookup(name).parse(current.value)
