"""The rest-xml protocol (S3): the operation is found from method + path + static query
(:mod:`restroutes`); members live in URI labels, query parameters, headers, header-prefix
maps, the host prefix, or the body (a streamed blob or an XML document).

A blob payload arrives as ``bytes`` in the input (the request body as received). In a
response, a blob/string payload given as ``bytes``/``str`` becomes the body; any other value
(a file object or an iterable of bytes) is handed over untouched in ``HttpResponse.stream``
for the server to send.
"""
from __future__ import annotations

import base64
import json
import re
from typing import Any

from eucalyptus.aws.http import HttpRequest, HttpResponse
from eucalyptus.aws.protocol import errors as error_documents
from eucalyptus.aws.protocol import restroutes, scalars, xmlin
from eucalyptus.aws.protocol.validation import bad_value_error, find_missing, require_members
from eucalyptus.aws.protocol.xmlout import XmlWriter, namespace_attr
from eucalyptus.errors import ClientError, ServiceError

NAME = "rest-xml"
_WRITER = XmlWriter("member")
_HOST_LABEL = re.compile(r"\{([^}]+)\}")


def _bad(path: str, value: Any, type_name: str) -> ServiceError:
    return bad_value_error(NAME, path, value, type_name)


def malformed_xml() -> ClientError:
    return ClientError("MalformedXML", "The XML you provided was not well-formed or did not "
                       "validate against our published schema")


# ---------------------------------------------------------------- requests

def parse(request: HttpRequest, service_model, matched=None):
    """(OperationModel, input dict); MethodNotAllowed (405) when nothing matches.
    ``matched``: what ``restroutes.match`` answered for this request, when already known."""
    operation, labels = matched or restroutes.match(request, service_model)
    shape = operation.input_shape
    if shape is None:
        return operation, {}
    params: dict[str, Any] = {}
    claimed = {key for key, _ in _static_keys(operation)}
    query_members = []
    for member_name, member_shape in shape.members.items():
        serialization = member_shape.serialization
        location = serialization.get("location")
        wire = serialization.get("name", member_name)
        if location == "uri":
            if wire in labels:
                params[member_name] = _scalar(member_shape, labels[wire], wire)
        elif location == "querystring":
            query_members.append((member_name, member_shape, wire))
            claimed.add(wire)
        elif location == "header":
            if wire in request.headers:
                params[member_name] = _header_value(member_shape, request.headers[wire], wire)
        elif location == "headers":
            prefix = wire.lower()
            found = {key[len(prefix):]: value for key, value in request.headers.items()
                     if key.lower().startswith(prefix)}
            if found:
                params[member_name] = found
        elif serialization.get("hostLabel"):
            value = _host_label(operation, request.host, member_name)
            if value is not None:
                params[member_name] = value
    for member_name, member_shape, wire in query_members:
        value = _query_value(member_shape, request.query, wire, claimed)
        if value is not None:
            params[member_name] = value
    _read_body(shape, request.body, params)
    require_members(shape, params, "ValidationError")
    return operation, params


def _static_keys(operation) -> list[tuple[str, str]]:
    static = operation.http.get("requestUri", "").partition("?")[2]
    return [tuple(part.partition("=")[::2]) for part in static.split("&") if part]


def _scalar(shape, text: str, path: str) -> Any:
    try:
        return scalars.from_text(shape, text)
    except scalars.BadValue as exc:
        raise _bad(path, exc.value, shape.type_name) from None


def split_header_list(text: str) -> list[str]:
    """Split a comma-separated header value; items may be double-quoted with ``\\"`` escapes."""
    items, current, quoted, escaped, was_quoted = [], [], False, False, False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
            was_quoted = True
        elif char == "," and not quoted:
            items.append("".join(current) if was_quoted else "".join(current).strip())
            current, was_quoted = [], False
        else:
            if not quoted and was_quoted and char.isspace():
                continue
            current.append(char)
    items.append("".join(current) if was_quoted else "".join(current).strip())
    return [item for item in items if item != "" or was_quoted]


def _header_value(shape, text: str, path: str) -> Any:
    if shape.type_name == "list":
        return [_scalar(shape.member, item, path) for item in split_header_list(text)]
    if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
        try:
            return json.loads(base64.b64decode(text))
        except ValueError:
            raise _bad(path, text, "JSON value") from None
    return _scalar(shape, text.strip() if shape.type_name != "string" else text, path)


def _query_value(shape, query: list[tuple[str, str]], wire: str, claimed: set[str]) -> Any:
    if shape.type_name == "map":
        result: dict[str, Any] = {}
        for key, value in query:
            if key in claimed:
                continue
            if shape.value.type_name == "list":
                result.setdefault(key, []).append(value)
            else:
                result.setdefault(key, value)
        return result or None
    values = [value for key, value in query if key == wire]
    if not values:
        return None
    if shape.type_name == "list":
        return [_scalar(shape.member, value, wire) for value in values]
    return _scalar(shape, values[0], wire)


def _host_label(operation, host: str, member_name: str) -> str | None:
    template = (operation.endpoint or {}).get("hostPrefix", "")
    regex, position = ["^"], 0
    for found in _HOST_LABEL.finditer(template):
        regex.append(re.escape(template[position:found.start()]))
        regex.append(f"(?P<{found.group(1)}>[A-Za-z0-9-]+)")
        position = found.end()
    regex.append(re.escape(template[position:]))
    matched = re.match("".join(regex), host)
    return matched.group(member_name) if matched and member_name in matched.groupdict() else None


def _read_body(shape, body: bytes, params: dict) -> None:
    payload = shape.serialization.get("payload")
    if payload is not None:
        member = shape.members[payload]
        if member.type_name == "blob":
            if body:
                params[payload] = body
        elif member.type_name == "string":
            if body:
                params[payload] = body.decode("utf-8", "replace")
        elif body.strip():
            params[payload] = _read_xml(member, body, whole_document=True)
        return
    if body.strip() and any(not m.serialization.get("location") for m in shape.members.values()):
        params.update(_read_xml(shape, body))


def _read_xml(shape, body: bytes, whole_document: bool = False) -> Any:
    """The document's value; MalformedXML (as S3 answers) when it is not XML, a value does not
    convert, or (for a ``whole_document`` payload) an element its schema requires is missing."""
    try:
        value = xmlin.read(shape, xmlin.parse_document(body))
    except (xmlin.MalformedXML, scalars.BadValue, RecursionError):
        raise malformed_xml() from None
    if whole_document and find_missing(shape, value):
        raise malformed_xml()
    return value


# ---------------------------------------------------------------- responses

def _header_text(shape, value: Any) -> str:
    if shape.type_name == "list":
        return ",".join(_header_text(shape.member, item) for item in value if item is not None)
    if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
        return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    return scalars.to_text(shape, value, "rfc822")


def document_root(shape, fallback: str) -> str:
    """The root element of an XML body: the shape's ``locationName``, else ``fallback``."""
    return shape.serialization.get("name") or fallback


def serialize(operation, result: dict | None, request_id: str) -> HttpResponse:
    result = result or {}
    shape = operation.output_shape
    status = int(operation.http.get("responseCode", 200))
    headers = error_documents.request_id_headers(request_id, s3_style=True)
    response = HttpResponse(status, headers, b"")
    if shape is None:
        return response
    namespace = operation.metadata.get("xmlNamespace")
    for member_name, member_shape in shape.members.items():
        value = result.get(member_name)
        if value is None:
            continue
        location = member_shape.serialization.get("location")
        wire = member_shape.serialization.get("name", member_name)
        if location == "statusCode":
            response.status = int(value)
        elif location == "header":
            if not (member_shape.type_name == "list" and not value):
                headers[wire] = _header_text(member_shape, value)
        elif location == "headers":
            for key, item in value.items():
                headers[wire + key] = str(item)
    payload = shape.serialization.get("payload")
    if payload is not None:
        _write_payload(shape.members[payload], payload, result.get(payload), response, namespace)
    elif any(not m.serialization.get("location") for m in shape.members.values()):
        root = document_root(shape, re.sub(r"Output$", "", shape.name) + "Result")
        attrs = namespace_attr(shape) or (f' xmlns="{namespace}"' if namespace else "")
        response.body = _WRITER.document(shape, result, root, attrs)
        headers["Content-Type"] = "application/xml"
    return response


def _write_payload(member, name: str, value: Any, response: HttpResponse,
                   namespace: str | None) -> None:
    if value is None:
        return
    if member.type_name in ("blob", "string"):
        if isinstance(value, str):
            response.body = value.encode("utf-8")
        elif isinstance(value, (bytes, bytearray, memoryview)):
            response.body = bytes(value)
        else:
            response.stream = value
        return
    if member.serialization.get("eventstream"):
        raise NotImplementedError("event stream responses are not supported")
    root = member.serialization.get("name", name)
    attrs = namespace_attr(member) or (f' xmlns="{namespace}"' if namespace else "")
    response.body = _WRITER.document(member, value, root, attrs)
    response.headers["Content-Type"] = "application/xml"


def serialize_error(error: ServiceError, request_id: str, service_model=None, *,
                    method: str = "") -> HttpResponse:
    return error_documents.error_response(NAME, error, request_id, service_model, method)
