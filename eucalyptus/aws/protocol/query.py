"""The query protocol (IAM, STS, CloudWatch, Auto Scaling, ELB) and, through
:class:`FormProtocol`, the ec2 protocol that shares its request encoding.

Requests are form parameters, in the query string or a form-encoded body, naming the operation
in ``Action``. Responses are ``<OpResponse xmlns><OpResult>..</OpResult><ResponseMetadata>
<RequestId/></ResponseMetadata></OpResponse>``.
"""
from __future__ import annotations

from botocore.model import OperationNotFoundError

from eucalyptus.aws.http import HttpRequest, HttpResponse
from eucalyptus.aws.protocol import errors as error_documents
from eucalyptus.aws.protocol.formparams import (FormReader, action_of, build_tree,
                                                unknown_parameters)
from eucalyptus.aws.protocol.validation import find_missing, missing_parameter, require_members
from eucalyptus.aws.protocol.xmlout import XmlWriter, element, quote_attr
from eucalyptus.aws.specs import operation_model
from eucalyptus.errors import ClientError, InvalidAction, ServiceError

XML_CONTENT_TYPE = "text/xml;charset=UTF-8"


class FormProtocol:
    """parse / serialize / serialize_error for a protocol whose requests are form parameters."""

    name = "query"
    list_item = "member"

    def __init__(self) -> None:
        self.reader = FormReader(self.name)
        self.writer = XmlWriter(self.list_item)

    # ------------------------------------------------------------ requests
    def parse(self, request: HttpRequest, service_model):
        """(OperationModel, input dict) for a request; raises InvalidAction, ValidationError..."""
        pairs = request.form()
        action = action_of(pairs)
        if not action:
            raise InvalidAction("MissingAction", "The request must contain the parameter Action")
        operation = self.operation(service_model, action)
        root = build_tree(pairs)
        params, used = self.reader.read_input(operation.input_shape, root)
        self.check(operation, root, params, used)
        return operation, params

    @staticmethod
    def operation(service_model, action: str):
        try:
            return operation_model(service_model, action)
        except OperationNotFoundError:
            raise InvalidAction(f"The action {action} is not valid for this web service.") \
                from None

    def check(self, operation, root, params: dict, used: set[str]) -> None:
        require_members(operation.input_shape, params, "ValidationError")

    # ------------------------------------------------------------ responses
    def namespace(self, operation) -> str:
        return operation.metadata.get("xmlNamespace", "")

    def serialize(self, operation, result: dict | None, request_id: str) -> HttpResponse:
        """The XML response document for ``result`` (a dict in the output shape)."""
        shape = operation.output_shape
        out: list[str] = []
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper")
            if wrapper:
                out.append(f"<{wrapper}>")
            self.writer.members(shape, result or {}, out)
            if wrapper:
                out.append(f"</{wrapper}>")
        body = self.document(operation, "".join(out), request_id)
        headers = error_documents.request_id_headers(request_id)
        headers["Content-Type"] = XML_CONTENT_TYPE
        return HttpResponse(200, headers, body)

    def document(self, operation, inner: str, request_id: str) -> bytes:
        root = f"{operation.name}Response"
        return (f'{error_documents.XML_DECLARATION}<{root} xmlns={quote_attr(self.namespace(operation))}>'
                f"{inner}<ResponseMetadata>{element('RequestId', request_id)}"
                f"</ResponseMetadata></{root}>").encode("utf-8")

    def serialize_error(self, error: ServiceError, request_id: str, service_model=None, *,
                        method: str = "") -> HttpResponse:
        return error_documents.error_response(self.name, error, request_id, service_model,
                                              method)


class Ec2Protocol(FormProtocol):
    """EC2's flavour: ec2 member names, ``<item>`` lists, ``requestId`` first in the response,
    MissingParameter / InvalidParameterValue / UnknownParameter errors."""

    name = "ec2"
    list_item = "item"

    def check(self, operation, root, params: dict, used: set[str]) -> None:
        unknown = unknown_parameters(root, used)
        if unknown:
            raise ClientError("UnknownParameter", f"The parameter {unknown[0]} is not recognized")
        if operation.input_shape is None:
            return
        missing = find_missing(operation.input_shape, params, self._member_path, self._item_path)
        if missing:
            raise missing_parameter(missing[0])

    def _member_path(self, member_name: str, member_shape, parent: str) -> str:
        key = self.reader.member_key(member_name, member_shape)
        return f"{parent}.{key}" if parent else key

    @staticmethod
    def _item_path(index: int, parent: str) -> str:
        return f"{parent}.{index}"

    def namespace(self, operation) -> str:
        return f"http://ec2.amazonaws.com/doc/{operation.metadata['apiVersion']}/"

    def document(self, operation, inner: str, request_id: str) -> bytes:
        root = f"{operation.name}Response"
        return (f'{error_documents.XML_DECLARATION}<{root} xmlns={quote_attr(self.namespace(operation))}>'
                f"{element('requestId', request_id)}{inner}</{root}>").encode("utf-8")


PROTOCOL = FormProtocol()
parse = PROTOCOL.parse
serialize = PROTOCOL.serialize
serialize_error = PROTOCOL.serialize_error
