"""Which service a user request is for, decided per request.

In order: the Eucalyptus service path (``/services/compute``, ``/services/Euare``, ...); the
service named in a V4 signature's credential scope; the JSON protocol's ``X-Amz-Target``; the
query ``Action`` looked up in the served services' models; else the first served service.
"""
from __future__ import annotations

from dataclasses import dataclass

from botocore.model import ServiceModel

from eucalyptus.aws.auth import SignedRequest, signature_service

SERVICE_PATHS = {
    "compute": "ec2", "Eucalyptus": "ec2", "Euare": "iam", "Tokens": "sts",
    "CloudWatch": "monitoring", "AutoScaling": "autoscaling",
    "LoadBalancing": "elasticloadbalancing", "objectstorage": "s3", "Walrus": "s3",
}


@dataclass(frozen=True)
class Route:
    service: str
    prefix: str   # path prefix that named the service ("" when none did)


def _path_route(raw_path: str) -> Route | None:
    parts = raw_path.split("/", 3)
    if len(parts) >= 3 and parts[1] == "services" and parts[2] in SERVICE_PATHS:
        return Route(SERVICE_PATHS[parts[2]], f"/services/{parts[2]}")
    return None


def route(request: SignedRequest, models: dict[str, ServiceModel]) -> Route:
    """``models`` maps each served service name to its model; the first one is the default."""
    found = _path_route(request.raw_path)
    if found and found.service in models:
        return found
    scoped = signature_service(request)
    for name, model in models.items():
        if scoped and scoped in (name, model.signing_name, model.endpoint_prefix):
            return Route(name, found.prefix if found else "")
    target = request.headers.get("X-Amz-Target", "")
    if target:
        prefix = target.split(".", 1)[0]
        for name, model in models.items():
            if model.metadata.get("targetPrefix") == prefix:
                return Route(name, "")
    action = request.params().get("Action")
    if action:
        for name, model in models.items():
            if action in model.operation_names:
                return Route(name, found.prefix if found else "")
    return Route(next(iter(models)), found.prefix if found else "")
