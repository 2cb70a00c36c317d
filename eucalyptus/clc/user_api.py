"""The Cloud Controller's user-facing APIs: which services it serves through the gateway."""
from __future__ import annotations

from types import ModuleType

from eucalyptus.aws import specs
from eucalyptus.aws.dispatch import DispatchTable
from eucalyptus.aws.gateway import Gateway, ServiceBinding


def _binding(name: str, package: ModuleType) -> ServiceBinding:
    return ServiceBinding(
        model=specs.service_model(name),
        table=DispatchTable(name, package.HANDLER_MODULES),
        resource_arn=getattr(package, "resource_arn", None),
        public_actions=frozenset(getattr(package, "PUBLIC_ACTIONS", ())),
        delegable=name == "iam",
    )


def make_gateway(component) -> Gateway:
    """The gateway for ec2 (the default for unnamed requests), iam and sts."""
    from eucalyptus.services import ec2, iam, sts
    from eucalyptus.services.iam import identity

    services = {"ec2": _binding("ec2", ec2), "iam": _binding("iam", iam),
                "sts": _binding("sts", sts)}
    return Gateway(services, identity, component)
