"""Moving requests and responses between botocore and our protocol layer, for tests.

``encode_request`` runs botocore's own client serializer for an operation and turns the
prepared request into our HttpRequest; ``decode_response`` hands our HttpResponse to
botocore's response parser, exactly as a client would see it.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from multidict import CIMultiDict
from urllib3._collections import HTTPHeaderDict

from eucalyptus.aws.http import HttpRequest, HttpResponse, parse_query

ENDPOINT = "http://127.0.0.1:8773"


def encode_request(operation, params: dict, protocol: str | None = None,
                   endpoint: str = ENDPOINT) -> HttpRequest:
    protocol = protocol or operation.service_model.resolved_protocol
    serializer = create_serializer(protocol, include_validation=False)
    request_dict = serializer.serialize_to_request(params, operation)
    prepare_request_dict(request_dict, endpoint)
    prepared = create_request_object(request_dict).prepare()
    split = urlsplit(prepared.url)
    headers = CIMultiDict((k, v if isinstance(v, str) else v.decode())
                          for k, v in prepared.headers.items())
    headers["Host"] = split.netloc
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif not isinstance(body, bytes):
        body = body.read()
    return HttpRequest(prepared.method, split.path or "/", parse_query(split.query), headers, body)


def decode_response(response: HttpResponse, shape, protocol: str) -> dict:
    """What a botocore client returns for ``response`` (ResponseMetadata included)."""
    headers = HTTPHeaderDict()
    for key, value in response.headers.items():
        headers[key] = value
    return create_parser(protocol).parse(
        {"status_code": response.status, "headers": headers, "body": response.body,
         "context": {}}, shape)


class _RawBody:
    """Just enough of urllib3's response for botocore to read a body."""

    def __init__(self, body: bytes):
        self._body = body

    def stream(self, *_args, **_kwargs):
        yield self._body

    def read(self, *_args, **_kwargs):
        body, self._body = self._body, b""
        return body


def serve_client_in_process(client, model, handler) -> list:
    """Answer ``client``'s requests in process: our parse -> ``handler(name, params)`` ->
    our serialize (or serialize_error for a raised ServiceError), no sockets involved.

    Returns the list into which each call's (operation name, params) is appended.
    """
    from botocore.awsrequest import AWSResponse, HeadersDict

    from eucalyptus.aws.protocol import protocol_for
    from eucalyptus.errors import ServiceError

    protocol = protocol_for(model)
    calls: list = []

    def before_send(request, **_kwargs):
        split = urlsplit(request.url)
        headers = CIMultiDict((k, v if isinstance(v, str) else v.decode())
                              for k, v in request.headers.items())
        headers["Host"] = split.netloc
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        http_request = HttpRequest(request.method, split.path or "/",
                                   parse_query(split.query), headers, body)
        try:
            operation, params = protocol.parse(http_request, model)
            calls.append((operation.name, params))
            response = protocol.serialize(operation, handler(operation.name, params), "rid-c")
        except ServiceError as error:
            response = protocol.serialize_error(error, "rid-c", model,
                                                method=http_request.method)
        return AWSResponse(request.url, response.status, HeadersDict(response.headers),
                           _RawBody(response.body))

    client.meta.events.register("before-send", before_send)
    return calls
