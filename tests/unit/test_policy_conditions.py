"""Condition operators in policy statements (services/iam/conditions.py)."""
import pytest

from eucalyptus.services.iam.conditions import matches
from eucalyptus.services.iam.policy import evaluate


@pytest.mark.parametrize("condition, context, expected", [
    ({"StringEquals": {"aws:username": "bob"}}, {"aws:username": "bob"}, True),
    ({"StringEquals": {"aws:username": "bob"}}, {"aws:username": "Bob"}, False),
    ({"StringEquals": {"aws:username": ["alice", "bob"]}}, {"aws:username": "bob"}, True),
    ({"StringEquals": {"AWS:UserName": "bob"}}, {"aws:username": "bob"}, True),   # keys: any case
    ({"StringEqualsIgnoreCase": {"aws:username": "BOB"}}, {"aws:username": "bob"}, True),
    ({"StringNotEquals": {"aws:username": "bob"}}, {"aws:username": "alice"}, True),
    ({"StringNotEquals": {"aws:username": "bob"}}, {"aws:username": "bob"}, False),
    ({"StringLike": {"s3:prefix": "home/*"}}, {"s3:prefix": "home/bob/x"}, True),
    ({"StringLike": {"s3:prefix": "home/?ob"}}, {"s3:prefix": "home/bob"}, True),
    ({"StringLike": {"s3:prefix": "home/*"}}, {"s3:prefix": "work/bob"}, False),
    ({"StringNotLike": {"s3:prefix": "home/*"}}, {"s3:prefix": "work/bob"}, True),
    ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": True}, True),
    ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "false"}, False),
    ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"}, True),
    ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "50"}, False),
    ({"NumericGreaterThanEquals": {"n": 3}}, {"n": 3}, True),
    ({"NumericEquals": {"n": "3"}}, {"n": "not a number"}, False),
    ({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
     {"aws:CurrentTime": "2024-06-01T12:00:00Z"}, True),
    ({"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
     {"aws:CurrentTime": "2024-06-01T12:00:00Z"}, False),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.1.2.3"}, True),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "192.168.1.1"}, False),
    ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "192.168.1.1"}, True),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:iam::*:user/*"}},
     {"aws:SourceArn": "arn:aws:iam::123456789012:user/bob"}, True),
    # two operators, two keys: all must hold
    ({"StringEquals": {"a": "1", "b": "2"}}, {"a": "1", "b": "2"}, True),
    ({"StringEquals": {"a": "1", "b": "2"}}, {"a": "1", "b": "3"}, False),
    ({"StringEquals": {"a": "1"}, "Bool": {"c": "true"}}, {"a": "1", "c": "false"}, False),
    # missing keys: positive operators fail, negated ones hold, IfExists holds
    ({"StringEquals": {"aws:username": "bob"}}, {}, False),
    ({"StringNotEquals": {"aws:username": "bob"}}, {}, True),
    ({"StringEqualsIfExists": {"ec2:InstanceType": "m1.small"}}, {}, True),
    ({"StringEqualsIfExists": {"ec2:InstanceType": "m1.small"}},
     {"ec2:InstanceType": "m1.large"}, False),
    ({"Null": {"aws:TokenIssueTime": "true"}}, {}, True),
    ({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "x"}, False),
    ({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": "x"}, True),
    # set operators over multi-valued keys
    ({"ForAnyValue:StringEquals": {"tags": ["a", "b"]}}, {"tags": ["x", "b"]}, True),
    ({"ForAnyValue:StringEquals": {"tags": ["a", "b"]}}, {"tags": ["x", "y"]}, False),
    ({"ForAnyValue:StringEquals": {"tags": ["a"]}}, {}, False),
    ({"ForAllValues:StringEquals": {"tags": ["a", "b"]}}, {"tags": ["a", "b"]}, True),
    ({"ForAllValues:StringEquals": {"tags": ["a", "b"]}}, {"tags": ["a", "c"]}, False),
    ({"ForAllValues:StringEquals": {"tags": ["a"]}}, {}, True),
    # unknown operators never hold
    ({"StringSoundsLike": {"aws:username": "bob"}}, {"aws:username": "bob"}, False),
    ({}, {}, True),
    (None, {}, True),
])
def test_condition_table(condition, context, expected):
    assert matches(condition, context) is expected


def test_statement_with_unknown_operator_does_not_apply():
    allow = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"Frobnicate": {"aws:username": "bob"}}}
    document = {"Version": "2012-10-17", "Statement": [allow, deny]}
    assert evaluate([document], "ec2:RunInstances", "*", {"aws:username": "bob"}) == "Allow"


def test_condition_values_expand_policy_variables():
    document = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::home",
        "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}}}]}
    ctx = {"aws:username": "bob", "s3:prefix": "home/bob/a"}
    assert evaluate([document], "s3:ListBucket", "arn:aws:s3:::home", ctx) == "Allow"
    ctx["s3:prefix"] = "home/alice/a"
    assert evaluate([document], "s3:ListBucket", "arn:aws:s3:::home", ctx) == "ImplicitDeny"
    # without the variable's value the condition value matches nothing
    assert evaluate([document], "s3:ListBucket", "arn:aws:s3:::home",
                    {"s3:prefix": "home//a"}) == "ImplicitDeny"
