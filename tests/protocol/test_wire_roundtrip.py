"""Round trips through botocore for every operation of the services we speak.

request:  sample input -> botocore's client serializer -> our parse -> the same input
response: sample output -> our serialize -> botocore's response parser -> the same output
"""
from __future__ import annotations

import pytest
from tests.protocol.botocore_wire import decode_response, encode_request
from tests.protocol.sample_values import sample_input, sample_output

from eucalyptus.aws import specs
from eucalyptus.aws.protocol import protocol_for

# (service, protocol) pairs: CloudWatch speaks both query and json
SERVICES = [("ec2", "ec2"), ("iam", "query"), ("sts", "query"), ("s3", "rest-xml"),
            ("dynamodb", "json"), ("logs", "json"), ("cloudwatch", "query"),
            ("cloudwatch", "json")]

# Operations that cannot round-trip, and why.
SAME_WIRE = "deprecated twin: identical request to its successor, which it resolves to"
REQUEST_XFAIL = {
    "s3:GetBucketLifecycle": SAME_WIRE,            # GetBucketLifecycleConfiguration
    "s3:PutBucketLifecycle": SAME_WIRE,            # PutBucketLifecycleConfiguration
    "s3:GetBucketNotification": SAME_WIRE,         # GetBucketNotificationConfiguration
    "s3:PutBucketNotification": SAME_WIRE,         # PutBucketNotificationConfiguration
}
RESPONSE_XFAIL = {
    # botocore reads GetBucketLocation's answer from the root element's text in a client
    # handler; the plain parser used here cannot see it (covered in test_s3_quirks).
    "s3:GetBucketLocation": "root-text document, parsed by a botocore client handler",
    # the deprecated model has both a member <Event> and a flattened list of <Event>: the
    # document is ambiguous to any reader.
    "s3:GetBucketNotification": "ambiguous model (Event and flattened Events)",
    # event streams are binary-framed; not produced by this layer.
    "s3:SelectObjectContent": "event stream response",
    "logs:StartLiveTail": "event stream response",
    "logs:GetLogObject": "event stream response",
}


def _cases(xfail: dict[str, str]):
    for service, protocol in SERVICES:
        model = specs.service_model(service)
        for name in model.operation_names:
            case_id = f"{service}:{name}"
            marks = [pytest.mark.xfail(reason=xfail[case_id], strict=True)] \
                if case_id in xfail else []
            yield pytest.param(service, protocol, name, id=f"{protocol}:{case_id}", marks=marks)


@pytest.mark.parametrize("service,protocol,name", list(_cases(REQUEST_XFAIL)))
def test_request_round_trip(service, protocol, name):
    model = specs.service_model(service)
    operation = specs.operation_model(model, name)
    params = sample_input(operation)
    request = encode_request(operation, params, protocol)
    parsed_operation, parsed = protocol_for(model, protocol).parse(request, model)
    assert parsed_operation.name == name
    assert parsed == params


def _comparable(operation, output: dict) -> dict:
    """What botocore hands back for ``output``: streamed payloads arrive as text."""
    shape = operation.output_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    if payload and isinstance(output.get(payload), bytes):
        output = dict(output, **{payload: output[payload].decode()})
    return output


@pytest.mark.parametrize("service,protocol,name", list(_cases(RESPONSE_XFAIL)))
def test_response_round_trip(service, protocol, name):
    model = specs.service_model(service)
    operation = specs.operation_model(model, name)
    output = sample_output(operation)
    response = protocol_for(model, protocol).serialize(operation, output, "rid-42")
    parsed = decode_response(response, operation.output_shape, protocol)
    metadata = parsed.pop("ResponseMetadata")
    assert metadata["RequestId"] == "rid-42"
    assert metadata["HTTPStatusCode"] == response.status
    assert parsed == _comparable(operation, output)
