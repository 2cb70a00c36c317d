"""The only writer of AWS error documents.

``error_response(protocol, error, request_id, service_model, method)`` turns a raised
:class:`eucalyptus.errors.ServiceError` into the document its protocol's clients expect:

* ec2:      ``<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>``
* query:    ``<ErrorResponse xmlns><Error><Type>Sender|Receiver</Type><Code/><Message/></Error>
            <RequestId/></ErrorResponse>``
* json:     ``{"__type": code, "message": msg}`` with header ``x-amzn-ErrorType`` (and
            ``x-amzn-query-error`` for services that keep their query error codes)
* rest-xml: ``<Error><Code/><Message/><RequestId/></Error>``; a HEAD response has no body.

The status is the error's ``status``; ``x-amzn-RequestId`` and ``x-amz-request-id`` are always
set, and the error's own ``headers`` are added.
"""
from __future__ import annotations

import base64
import hashlib
import json

from eucalyptus.aws.http import HttpResponse
from eucalyptus.aws.protocol.xmlout import element, quote_attr
from eucalyptus.errors import ServiceError

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def request_id_headers(request_id: str, s3_style: bool = False) -> dict[str, str]:
    headers = {"x-amzn-RequestId": request_id, "x-amz-request-id": request_id}
    if s3_style:
        headers["x-amz-id-2"] = host_id(request_id)
    return headers


def host_id(request_id: str) -> str:
    """S3's opaque ``x-amz-id-2`` value, derived from the request id."""
    return base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode()


def _xml(text: str) -> bytes:
    return (XML_DECLARATION + text).encode("utf-8")


def ec2_error_body(error: ServiceError, request_id: str) -> bytes:
    return _xml("<Response><Errors><Error>" + element("Code", error.code)
                + element("Message", error.message) + "</Error></Errors>"
                + element("RequestID", request_id) + "</Response>")


def query_error_body(error: ServiceError, request_id: str, namespace: str | None) -> bytes:
    kind = "Sender" if error.sender_fault else "Receiver"
    attrs = f" xmlns={quote_attr(namespace)}" if namespace else ""
    return _xml(f"<ErrorResponse{attrs}><Error>" + element("Type", kind)
                + element("Code", error.code) + element("Message", error.message)
                + "</Error>" + element("RequestId", request_id) + "</ErrorResponse>")


def restxml_error_body(error: ServiceError, request_id: str) -> bytes:
    """S3's ``<Error>``; an error's optional ``fields`` dict (BucketName, Key, Resource, ...)
    adds elements after the message."""
    extra = "".join(element(name, value)
                    for name, value in (getattr(error, "fields", None) or {}).items())
    return _xml("<Error>" + element("Code", error.code) + element("Message", error.message)
                + extra + element("RequestId", request_id)
                + element("HostId", host_id(request_id)) + "</Error>")


def json_error_body(error: ServiceError) -> bytes:
    return json.dumps({"__type": error.code, "message": error.message}).encode("utf-8")


def error_response(protocol: str, error: ServiceError, request_id: str, service_model=None,
                   method: str = "") -> HttpResponse:
    """The HTTP response carrying ``error`` in ``protocol``'s error document."""
    metadata = service_model.metadata if service_model is not None else {}
    headers = request_id_headers(request_id, s3_style=protocol == "rest-xml")
    if protocol == "ec2":
        body = ec2_error_body(error, request_id)
        headers["Content-Type"] = "text/xml;charset=UTF-8"
    elif protocol == "query":
        body = query_error_body(error, request_id, metadata.get("xmlNamespace"))
        headers["Content-Type"] = "text/xml;charset=UTF-8"
    elif protocol in ("json", "rest-json"):
        body = json_error_body(error)
        version = metadata.get("jsonVersion", "1.0")
        headers["Content-Type"] = f"application/x-amz-json-{version}"
        headers["x-amzn-ErrorType"] = error.code
        if "awsQueryCompatible" in metadata:
            kind = "Sender" if error.sender_fault else "Receiver"
            headers["x-amzn-query-error"] = f"{error.code};{kind}"
    elif protocol == "rest-xml":
        body = restxml_error_body(error, request_id)
        headers["Content-Type"] = "application/xml"
    else:
        raise ValueError(f"no error document for protocol {protocol!r}")
    if method.upper() == "HEAD" or getattr(error, "empty_body", False):
        body = b""
    headers.update(error.headers)
    return HttpResponse(error.status, headers, body)
