"""Requests as sent by hand (old clients, typos, bad values) through each protocol's parse."""
from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlencode

import pytest

from eucalyptus import errors
from eucalyptus.aws import specs
from eucalyptus.aws.http import HttpRequest
from eucalyptus.aws.protocol import protocol_for

UTC = dt.timezone.utc


def form_request(params: dict | list, in_query: bool = False) -> HttpRequest:
    encoded = urlencode(params)
    if in_query:
        return HttpRequest.from_url("GET", "/?" + encoded)
    return HttpRequest("POST", "/", [], {"Content-Type": "application/x-www-form-urlencoded"},
                       encoded.encode())


def parse(service: str, request: HttpRequest):
    model = specs.service_model(service)
    operation, params = protocol_for(model).parse(request, model)
    return operation.name, params


def json_request(target: str, body) -> HttpRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpRequest("POST", "/", [], {"X-Amz-Target": target,
                                         "Content-Type": "application/x-amz-json-1.0"}, raw)


# ------------------------------------------------------------------ good input, odd shapes

def test_ec2_query_string_request_with_auth_parameters_ignored():
    name, params = parse("ec2", form_request({
        "Action": "DescribeInstances", "Version": "2016-11-15", "InstanceId.2": "i-2",
        "InstanceId.1": "i-1", "AWSAccessKeyId": "AKIA", "SignatureMethod": "HmacSHA256",
        "SignatureVersion": "2", "Signature": "x", "Timestamp": "2024-01-01T00:00:00Z",
        "X-Amz-Date": "20240101T000000Z", "Filter.1.Name": "instance-state-name",
        "Filter.1.Value.1": "running", "MaxResults": "10", "DryRun": "false"}, in_query=True))
    assert name == "DescribeInstances"
    assert params == {"InstanceIds": ["i-1", "i-2"], "DryRun": False, "MaxResults": 10,
                      "Filters": [{"Name": "instance-state-name", "Values": ["running"]}]}


def test_ec2_sparse_indexes_keep_numeric_order_and_lone_value_is_a_list():
    _, params = parse("ec2", form_request({"Action": "DescribeInstances", "InstanceId.10": "b",
                                           "InstanceId.2": "a"}))
    assert params["InstanceIds"] == ["a", "b"]
    _, params = parse("ec2", form_request({"Action": "DescribeInstances", "InstanceId": "i-9"}))
    assert params["InstanceIds"] == ["i-9"]


def test_form_merges_query_string_and_body():
    request = HttpRequest("POST", "/", [("Action", "GetUser")],
                          {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                          b"UserName=bob&Version=2010-05-08")
    assert request.form() == [("Action", "GetUser"), ("UserName", "bob"),
                              ("Version", "2010-05-08")]
    assert parse("iam", request) == ("GetUser", {"UserName": "bob"})


def test_query_timestamps_with_fractions_and_empty_list():
    _, params = parse("ec2", form_request({
        "Action": "DescribeSpotPriceHistory", "StartTime": "2024-05-06T07:08:09.250Z",
        "EndTime": "2024-05-06T07:08:09+02:00"}))
    assert params["StartTime"] == dt.datetime(2024, 5, 6, 7, 8, 9, 250000, tzinfo=UTC)
    assert params["EndTime"] == dt.datetime(2024, 5, 6, 5, 8, 9, tzinfo=UTC)
    _, params = parse("iam", form_request({"Action": "CreateUser", "UserName": "u",
                                           "Tags": ""}))
    assert params == {"UserName": "u", "Tags": []}


def test_eucalyptus_account_operations_parse():
    assert parse("iam", form_request({"Action": "CreateAccount", "AccountName": "dev"})) == \
        ("CreateAccount", {"AccountName": "dev"})
    assert parse("iam", form_request({"Action": "DeleteAccount", "AccountName": "dev",
                                      "Recursive": "true"})) == \
        ("DeleteAccount", {"AccountName": "dev", "Recursive": True})


def test_s3_path_without_x_id_and_trailing_slash():
    model = specs.service_model("s3")
    s3 = protocol_for(model)
    operation, params = s3.parse(HttpRequest.from_url("GET", "/bucket-1/"), model)
    assert (operation.name, params) == ("ListObjects", {"Bucket": "bucket-1"})
    operation, params = s3.parse(HttpRequest.from_url(
        "PUT", "/b/a%20key/x?partNumber=3&uploadId=u-1", body=b"data"), model)
    assert operation.name == "UploadPart"
    assert params == {"Bucket": "b", "Key": "a key/x", "PartNumber": 3, "UploadId": "u-1",
                      "Body": b"data"}
    operation, params = s3.parse(HttpRequest.from_url(
        "PUT", "/b/k", {"x-amz-copy-source": "/src/obj", "x-amz-meta-Color": "red"}), model)
    assert operation.name == "CopyObject"
    assert params == {"Bucket": "b", "Key": "k", "CopySource": "/src/obj",
                      "Metadata": {"Color": "red"}}
    operation, _ = s3.parse(HttpRequest.from_url("GET", "/"), model)
    assert operation.name == "ListBuckets"


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("service", ["ec2", "iam", "sts"])
def test_unknown_action(service):
    with pytest.raises(errors.InvalidAction) as caught:
        parse(service, form_request({"Action": "LaunchRockets"}))
    assert caught.value.code == "InvalidAction" and caught.value.status == 400


def test_unknown_json_target_and_unroutable_rest_request():
    with pytest.raises(errors.InvalidAction) as caught:
        parse("dynamodb", json_request("DynamoDB_20120810.Nope", {}))
    assert caught.value.code == "UnknownOperationException"
    with pytest.raises(errors.InvalidAction) as caught:
        parse("s3", HttpRequest.from_url("PATCH", "/b/k"))
    assert (caught.value.code, caught.value.status) == ("MethodNotAllowed", 405)


def test_missing_required_ec2():
    with pytest.raises(errors.MissingParameter) as caught:
        parse("ec2", form_request({"Action": "RunInstances", "ImageId": "emi-1",
                                   "MinCount": "1"}))
    assert caught.value.code == "MissingParameter"
    assert caught.value.message == "The request must contain the parameter MaxCount"


def test_missing_required_query_uses_aws_wording():
    with pytest.raises(errors.ValidationError) as caught:
        parse("iam", form_request({"Action": "CreateUser"}))
    assert caught.value.code == "ValidationError"
    assert caught.value.message == ("1 validation error detected: Value null at 'userName' "
                                    "failed to satisfy constraint: Member must not be null")
    with pytest.raises(errors.ValidationError) as caught:
        parse("iam", form_request({"Action": "CreateUser", "UserName": "u",
                                   "Tags.member.1.Value": "v"}))
    assert "Value null at 'tags.1.member.key'" in caught.value.message


def test_missing_required_json():
    with pytest.raises(errors.ValidationError) as caught:
        parse("dynamodb", json_request("DynamoDB_20120810.GetItem", {"TableName": "t"}))
    assert caught.value.code == "ValidationException"
    assert "Value null at 'key'" in caught.value.message


@pytest.mark.parametrize("params,expected_class,code", [
    ({"Action": "RunInstances", "MinCount": "one", "MaxCount": "1"},
     errors.InvalidParameterValue, "InvalidParameterValue"),
    ({"Action": "DescribeInstances", "DryRun": "maybe"},
     errors.InvalidParameterValue, "InvalidParameterValue"),
    ({"Action": "DescribeSpotPriceHistory", "StartTime": "yesterday"},
     errors.InvalidParameterValue, "InvalidParameterValue"),
])
def test_bad_values_ec2(params, expected_class, code):
    with pytest.raises(expected_class) as caught:
        parse("ec2", form_request(params))
    assert caught.value.code == code and caught.value.status == 400


@pytest.mark.parametrize("params", [
    {"Action": "ListUsers", "MaxItems": "lots"},
    {"Action": "ListPolicies", "OnlyAttached": "yes"},
])
def test_bad_values_query(params):
    with pytest.raises(errors.ValidationError) as caught:
        parse("iam", form_request(params))
    assert caught.value.code == "ValidationError"
    assert caught.value.message.startswith("1 validation error detected: Value '")


def test_bad_values_json_and_rest_xml():
    with pytest.raises(errors.ValidationError) as caught:
        parse("dynamodb", json_request("DynamoDB_20120810.Scan",
                                       {"TableName": "t", "Limit": "ten"}))
    assert caught.value.code == "ValidationException"
    with pytest.raises(errors.ValidationError):
        parse("s3", HttpRequest.from_url("GET", "/b?max-keys=many"))
    with pytest.raises(errors.SerializationError):
        parse("dynamodb", json_request("DynamoDB_20120810.Scan", b"{not json"))
    with pytest.raises(errors.ClientError) as caught:
        parse("s3", HttpRequest.from_url("PUT", "/b?tagging", body=b"<Tagging><TagSet>"))
    assert caught.value.code == "MalformedXML"


def test_unknown_ec2_parameter():
    with pytest.raises(errors.ClientError) as caught:
        parse("ec2", form_request({"Action": "DescribeInstances", "InstanceIdd.1": "i-1"}))
    assert caught.value.code == "UnknownParameter" and caught.value.status == 400
    assert "InstanceIdd" in caught.value.message
