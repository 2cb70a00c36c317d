"""Arbitrary input never escapes parse as anything but a ServiceError (never a 500)."""
from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from eucalyptus.aws import specs
from eucalyptus.aws.http import HttpRequest
from eucalyptus.aws.protocol import protocol_for
from eucalyptus.errors import ServiceError

KEYS = st.sampled_from(["InstanceId.1", "Filter.1.Name", "Filter.1.Value.x", "MaxResults",
                        "DryRun", "UserName", "Tags.member.1.Key", "Tags.member", "Tags",
                        "MinCount", "MaxCount", "BlockDeviceMapping.1.Ebs.VolumeSize",
                        "Policy", "PolicyArn", "Marker", "MaxItems", "x.y.z", "1", "."])
ACTIONS = st.sampled_from(["DescribeInstances", "RunInstances", "CreateUser", "ListUsers",
                           "CreateTags", "AttachUserPolicy", "Nope", ""])
TEXT = st.text(max_size=12)


def _parse_or_service_error(service: str, request: HttpRequest) -> None:
    model = specs.service_model(service)
    try:
        protocol_for(model).parse(request, model)
    except ServiceError as error:
        assert 400 <= error.status < 500


@settings(max_examples=150, deadline=None)
@given(service=st.sampled_from(["ec2", "iam"]), action=ACTIONS,
       pairs=st.lists(st.tuples(KEYS, TEXT), max_size=6))
def test_form_protocols(service, action, pairs):
    query = [("Action", action)] + pairs
    _parse_or_service_error(service, HttpRequest("GET", "/", query))


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(target=st.sampled_from(["PutItem", "Query", "GetItem", "Scan", "Bogus"]),
       body=st.dictionaries(st.sampled_from(["TableName", "Item", "Key", "Limit",
                                             "ExclusiveStartKey", "KeyConditions"]),
                            JSON_VALUES, max_size=4) | JSON_VALUES)
def test_json_protocol(target, body):
    request = HttpRequest("POST", "/", [], {"X-Amz-Target": f"DynamoDB_20120810.{target}"},
                          json.dumps(body).encode())
    _parse_or_service_error("dynamodb", request)


@settings(max_examples=150, deadline=None)
@given(method=st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"]),
       path=st.sampled_from(["/", "/b", "/b/", "/b/k", "/b/k/%zz", "//"]),
       query=st.lists(st.tuples(st.sampled_from(["acl", "uploads", "uploadId", "partNumber",
                                                 "max-keys", "list-type", "tagging", "x-id"]),
                                TEXT), max_size=3),
       headers=st.dictionaries(st.sampled_from(["Content-Length", "x-amz-copy-source",
                                                "Expires", "x-amz-meta-a", "If-Match"]),
                               st.text(alphabet="abc123 ,:", max_size=10), max_size=3),
       body=st.sampled_from([b"", b"<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>",
                             b"<x", b"not xml", b"<Delete><Object/></Delete>"]))
def test_rest_xml_protocol(method, path, query, headers, body):
    _parse_or_service_error("s3", HttpRequest(method, path, query, headers, body))
