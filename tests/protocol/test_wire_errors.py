"""Error documents of every protocol, as botocore's parsers (hence boto3) read them."""
from __future__ import annotations

import json

import pytest
from tests.protocol.botocore_wire import decode_response

from eucalyptus import errors
from eucalyptus.aws import specs
from eucalyptus.aws.protocol import protocol_for

CASES = [  # service, protocol, operation
    ("ec2", "ec2", "DescribeInstances"),
    ("iam", "query", "GetUser"),
    ("sts", "query", "GetCallerIdentity"),
    ("dynamodb", "json", "GetItem"),
    ("s3", "rest-xml", "GetObject"),
]
ERRORS = [
    errors.InvalidParameterValue("Value (x) for parameter MaxCount is invalid."),
    errors.NotFound("NoSuchEntity", "The user with name bob cannot be found."),
    errors.AccessDenied("You are not authorized <to> do this & that"),
    errors.ServiceUnavailable("Try again later"),
    errors.ServiceError("NoSuchKey", "The specified key does not exist.", status=404),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.code)
@pytest.mark.parametrize("service,protocol,name", CASES, ids=[c[1] for c in CASES])
def test_botocore_reads_code_message_request_id_and_status(service, protocol, name, error):
    model = specs.service_model(service)
    operation = specs.operation_model(model, name)
    response = protocol_for(model, protocol).serialize_error(error, "rid-err-1", model)
    assert response.status == error.status
    assert response.headers["x-amzn-RequestId"] == "rid-err-1"
    assert response.headers["x-amz-request-id"] == "rid-err-1"
    parsed = decode_response(response, operation.output_shape, protocol)
    assert parsed["Error"]["Code"] == error.code
    assert parsed["Error"]["Message"] == error.message
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-err-1"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == error.status


def test_ec2_document_shape():
    body = protocol_for(specs.service_model("ec2")).serialize_error(
        errors.MissingParameter("The request must contain the parameter ImageId"), "r1").body
    assert b"<Response><Errors><Error><Code>MissingParameter</Code>" in body
    assert body.rstrip().endswith(b"<RequestID>r1</RequestID></Response>")


@pytest.mark.parametrize("error,kind", [(errors.ValidationError("bad"), "Sender"),
                                        (errors.InternalError("oops"), "Receiver")])
def test_query_error_type(error, kind):
    model = specs.service_model("iam")
    response = protocol_for(model).serialize_error(error, "r2", model)
    assert f"<Type>{kind}</Type>".encode() in response.body
    assert b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">' in response.body
    parsed = decode_response(response, None, "query")
    assert parsed["Error"]["Type"] == kind


def test_json_error_header_and_body():
    model = specs.service_model("dynamodb")
    response = protocol_for(model).serialize_error(
        errors.ServiceError("ResourceNotFoundException", "no table"), "r3", model)
    assert json.loads(response.body) == {"__type": "ResourceNotFoundException",
                                         "message": "no table"}
    assert response.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert response.headers["Content-Type"] == "application/x-amz-json-1.0"


def test_json_query_compatible_service_keeps_query_code():
    model = specs.service_model("sqs")
    response = protocol_for(model, "json").serialize_error(
        errors.ServiceError("AWS.SimpleQueueService.NonExistentQueue", "gone"), "r4", model)
    parsed = decode_response(response, None, "json")
    assert parsed["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert parsed["Error"]["Type"] == "Sender"


def test_rest_xml_head_error_has_no_body_but_status_and_request_id():
    model = specs.service_model("s3")
    error = errors.ServiceError("NoSuchKey", "The specified key does not exist.", status=404)
    response = protocol_for(model).serialize_error(error, "r5", model, method="HEAD")
    assert response.body == b""
    parsed = decode_response(response, None, "rest-xml")
    assert parsed["Error"]["Code"] == "404"
    assert parsed["ResponseMetadata"]["RequestId"] == "r5"


def test_error_headers_are_sent():
    model = specs.service_model("s3")
    error = errors.ServiceError("PermanentRedirect", "elsewhere", status=301,
                                headers={"x-amz-bucket-region": "eu-1"})
    response = protocol_for(model).serialize_error(error, "r6", model)
    assert response.headers["x-amz-bucket-region"] == "eu-1"
