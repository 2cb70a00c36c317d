"""The json protocol (DynamoDB, CloudWatch Logs, KMS, ...): ``POST /`` with
``X-Amz-Target: <targetPrefix>.<Operation>`` and a JSON body; responses are JSON with the
model's ``application/x-amz-json-1.0|1.1`` content type; timestamps travel as epoch seconds and
blobs as base64.
"""
from __future__ import annotations

import json
from typing import Any

from botocore.model import OperationNotFoundError

from eucalyptus.aws.http import HttpRequest, HttpResponse
from eucalyptus.aws.protocol import errors as error_documents
from eucalyptus.aws.protocol import scalars
from eucalyptus.aws.protocol.validation import bad_value_error, require_members
from eucalyptus.aws.specs import operation_model
from eucalyptus.errors import InvalidAction, SerializationError, ServiceError

NAME = "json"


def _bad(path: str, value: Any, type_name: str) -> ServiceError:
    return bad_value_error(NAME, path or "input", value, type_name)


# ---------------------------------------------------------------- requests

def parse(request: HttpRequest, service_model):
    """(OperationModel, input dict); raises InvalidAction (UnknownOperationException),
    SerializationError for a body that is not a JSON object, ValidationError otherwise."""
    target = request.headers.get("X-Amz-Target", "")
    prefix, _, action = target.rpartition(".")
    expected = service_model.metadata.get("targetPrefix")
    if not action or (expected and prefix != expected):
        raise InvalidAction("UnknownOperationException", f"Unknown operation {target!r}")
    try:
        operation = operation_model(service_model, action)
    except OperationNotFoundError:
        raise InvalidAction("UnknownOperationException", f"Unknown operation {target!r}") \
            from None
    body = request.body.strip()
    try:
        document = json.loads(body) if body else {}
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise SerializationError("Start of structure or map found where not expected.") \
            from None
    if not isinstance(document, dict):
        raise SerializationError("Start of structure or map found where not expected.")
    shape = operation.input_shape
    try:
        params = read(shape, document, "") if shape is not None else {}
    except RecursionError:
        raise SerializationError("The request is nested too deeply.") from None
    require_members(shape, params, "ValidationException")
    return operation, params


def read(shape, value: Any, path: str) -> Any:
    """The Python value of ``shape`` from decoded JSON ``value``."""
    type_name = shape.type_name
    if type_name == "structure":
        if shape.is_document_type:
            return value
        if not isinstance(value, dict):
            raise _bad(path, value, "structure")
        result = {}
        for member_name, member_shape in shape.members.items():
            key = member_shape.serialization.get("name", member_name)
            if value.get(key) is not None:
                member_path = f"{path}.{key}" if path else key
                result[member_name] = read(member_shape, value[key], member_path)
        return result
    if type_name == "list":
        if not isinstance(value, list):
            raise _bad(path, value, "list")
        return [None if item is None else read(shape.member, item, f"{path}.{i}")
                for i, item in enumerate(value, 1)]
    if type_name == "map":
        if not isinstance(value, dict):
            raise _bad(path, value, "map")
        return {key: None if item is None else read(shape.value, item, f"{path}.{key}")
                for key, item in value.items()}
    return _read_scalar(shape, value, path)


def _read_scalar(shape, value: Any, path: str) -> Any:
    type_name = shape.type_name
    try:
        if type_name in ("string", "character"):
            if isinstance(value, str):
                return value
        elif type_name == "boolean":
            if isinstance(value, bool):
                return value
        elif type_name in scalars.INTEGER_TYPES:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif type_name in scalars.FLOAT_TYPES:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, str):
                return scalars.parse_float(value)
        elif type_name == "timestamp":
            if isinstance(value, (int, float, str)):
                return scalars.parse_timestamp(value)
        elif type_name == "blob":
            if isinstance(value, str):
                return scalars.parse_blob(value)
    except scalars.BadValue:
        pass
    raise _bad(path, value, type_name)


# ---------------------------------------------------------------- responses

def write(shape, value: Any) -> Any:
    """The JSON-ready form of ``value`` of ``shape``; None members are left out."""
    type_name = shape.type_name
    if type_name == "structure":
        if shape.is_document_type:
            return value
        result = {}
        for member_name, member_shape in shape.members.items():
            member_value = value.get(member_name)
            if member_value is not None:
                key = member_shape.serialization.get("name", member_name)
                result[key] = write(member_shape, member_value)
        return result
    if type_name == "list":
        return [None if item is None else write(shape.member, item) for item in value]
    if type_name == "map":
        return {key: None if item is None else write(shape.value, item)
                for key, item in value.items()}
    if type_name == "timestamp":
        fmt = shape.serialization.get("timestampFormat", "unixtimestamp")
        return scalars.format_timestamp(value, fmt)
    if type_name == "blob":
        return scalars.blob_text(value)
    if type_name in scalars.FLOAT_TYPES:
        return scalars.format_float(float(value))
    return value


def content_type(metadata: dict) -> str:
    return f"application/x-amz-json-{metadata.get('jsonVersion', '1.0')}"


def serialize(operation, result: dict | None, request_id: str) -> HttpResponse:
    shape = operation.output_shape
    document = write(shape, result or {}) if shape is not None else {}
    headers = error_documents.request_id_headers(request_id)
    headers["Content-Type"] = content_type(operation.metadata)
    return HttpResponse(200, headers, json.dumps(document, separators=(",", ":")).encode())


def serialize_error(error: ServiceError, request_id: str, service_model=None, *,
                    method: str = "") -> HttpResponse:
    return error_documents.error_response(NAME, error, request_id, service_model, method)
