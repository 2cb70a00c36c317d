"""botocore's service models, with our additions laid over them as data.

``service_model(name)`` loads ``service-2`` for a service through botocore's loader and
deep-merges ``overlays/<name>.json`` into the raw dictionary first (see :func:`deep_merge`), so
an overlay can add operations, shapes and members, or correct a model, without code.
``botocore_session_with_overlays()`` gives botocore clients the same overlaid models, and
``write_overlaid_models(directory)`` writes them in botocore's data layout for tools that take
``AWS_DATA_PATH`` (the AWS CLI).
"""
from __future__ import annotations

import copy
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
from botocore.model import ServiceModel

OVERLAY_DIR = Path(__file__).parent / "overlays"

# Endpoint prefixes and Eucalyptus service names that differ from botocore's service names.
ALIASES = {
    "monitoring": "cloudwatch",
    "elasticloadbalancing": "elb",
    "euare": "iam",
    "tokens": "sts",
    "compute": "ec2",
    "objectstorage": "s3",
    "walrus": "s3",
    "email": "ses",
}

DELETE = None  # an overlay value of null removes the key it names


def canonical_name(name: str) -> str:
    """botocore's name for a service given its name, endpoint prefix or Eucalyptus name."""
    return ALIASES.get(name, name)


def deep_merge(base: dict, overlay: dict) -> dict:
    """Merge ``overlay`` into ``base`` in place and return ``base``.

    Dictionaries merge key by key, recursively; any other overlay value (string, number, list)
    replaces the base value; ``null`` deletes the key from the base.
    """
    for key, value in overlay.items():
        if value is DELETE:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


@lru_cache(maxsize=None)
def overlay(name: str) -> dict | None:
    """The overlay document for a service (by botocore name), or None."""
    path = OVERLAY_DIR / f"{name}.json"
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def overlaid_services() -> list[str]:
    return sorted(p.stem for p in OVERLAY_DIR.glob("*.json"))


class OverlayLoader(botocore.loaders.Loader):
    """A botocore loader that applies our overlays to every ``service-2`` model it loads."""

    def load_service_model(self, service_name, type_name, api_version=None):
        model = super().load_service_model(service_name, type_name, api_version)
        extra = overlay(service_name) if type_name == "service-2" else None
        if extra is None:
            return model
        return deep_merge(copy.deepcopy(model), extra)


@lru_cache(maxsize=1)
def _loader() -> OverlayLoader:
    return OverlayLoader()


@lru_cache(maxsize=None)
def raw_model(name: str) -> dict:
    """The overlaid model of a service as a plain dictionary (shared: do not mutate)."""
    return _loader().load_service_model(canonical_name(name), "service-2")


def service_model(name: str) -> ServiceModel:
    """The overlaid botocore ServiceModel of ``name`` ("ec2", "iam", "monitoring", ...), one
    shared instance per service.

    Raises botocore.exceptions.UnknownServiceError for a service botocore does not know.
    """
    return _service_model(canonical_name(name))


@lru_cache(maxsize=None)
def _service_model(name: str) -> ServiceModel:
    return ServiceModel(raw_model(name), service_name=name)


def botocore_session_with_overlays(**session_kwargs: Any) -> botocore.session.Session:
    """A botocore Session whose clients use the overlaid models (e.g. ``iam.create_account``)."""
    session = botocore.session.Session(**session_kwargs)
    data_path = session.get_config_variable("data_path")
    extra_paths = [os.path.expanduser(p) for p in data_path.split(os.pathsep)] if data_path else []
    session.register_component("data_loader", OverlayLoader(extra_search_paths=extra_paths))
    return session


def write_overlaid_models(directory: str | os.PathLike) -> Path:
    """Write every overlaid model as ``<dir>/<service>/<apiVersion>/service-2.json``.

    Point ``AWS_DATA_PATH`` at the returned directory and any botocore-based tool (the AWS CLI)
    loads our models instead of its own. Returns the directory.
    """
    root = Path(directory)
    for name in overlaid_services():
        model = raw_model(name)
        target = root / name / model["metadata"]["apiVersion"] / "service-2.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(model), encoding="utf-8")
    return root


@lru_cache(maxsize=4096)
def operation_model(model: ServiceModel, name: str):
    """``model.operation_model(name)``, cached (botocore builds a new one on every call).

    Raises botocore.model.OperationNotFoundError for an unknown name.
    """
    return model.operation_model(name)
