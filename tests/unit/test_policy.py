"""Policy document validation and evaluation (services/iam/policy.py)."""
import json

import pytest

from eucalyptus.services.iam.policy import MalformedPolicyDocument, evaluate, validate


def doc(*statements, version="2012-10-17"):
    return {"Version": version, "Statement": list(statements)}


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


USER_BOB = "arn:aws:iam::123456789012:user/bob"
BUCKET_OBJ = "arn:aws:s3:::photos/2024/cat.jpg"


@pytest.mark.parametrize("documents, action, resource, expected", [
    ([], "iam:ListUsers", "*", "ImplicitDeny"),
    ([doc(allow("iam:ListUsers"))], "iam:ListUsers", "*", "Allow"),
    ([doc(allow("iam:ListUsers"))], "iam:ListGroups", "*", "ImplicitDeny"),
    ([doc(allow("iam:List*"))], "iam:ListGroups", "*", "Allow"),
    ([doc(allow("IAM:listusers"))], "iam:ListUsers", "*", "Allow"),          # actions: any case
    ([doc(allow("iam:Get?ser"))], "iam:GetUser", "*", "Allow"),
    ([doc(allow("iam:Get?ser"))], "iam:GetUsers", "*", "ImplicitDeny"),
    ([doc(allow("*"))], "ec2:RunInstances", "*", "Allow"),
    ([doc(allow(["ec2:Describe*", "iam:GetUser"]))], "iam:GetUser", "*", "Allow"),
    ([doc(allow("s3:GetObject", "arn:aws:s3:::photos/*"))], "s3:GetObject", BUCKET_OBJ, "Allow"),
    ([doc(allow("s3:GetObject", "arn:aws:s3:::Photos/*"))], "s3:GetObject", BUCKET_OBJ,
     "ImplicitDeny"),                                                         # resources: exact case
    ([doc(allow("s3:GetObject", "arn:aws:s3:::photos/202?/*"))], "s3:GetObject", BUCKET_OBJ,
     "Allow"),
    ([doc(allow("iam:*", USER_BOB))], "iam:GetUser", "arn:aws:iam::123456789012:user/alice",
     "ImplicitDeny"),
    # explicit deny beats allow, in the same document or another one
    ([doc(allow("*"), deny("iam:DeleteUser"))], "iam:DeleteUser", USER_BOB, "Deny"),
    ([doc(allow("*")), doc(deny("iam:Delete*", USER_BOB))], "iam:DeleteUser", USER_BOB, "Deny"),
    ([doc(deny("iam:Delete*", USER_BOB)), doc(allow("*"))], "iam:DeleteUser", USER_BOB, "Deny"),
    ([doc(allow("*"), deny("iam:DeleteUser", USER_BOB))], "iam:DeleteUser",
     "arn:aws:iam::123456789012:user/alice", "Allow"),
    # NotAction / NotResource
    ([doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})], "ec2:RunInstances", "*",
     "Allow"),
    ([doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})], "iam:CreateUser", "*",
     "ImplicitDeny"),
    ([doc(allow("*"), {"Effect": "Deny", "NotAction": ["ec2:Describe*"], "Resource": "*"})],
     "ec2:RunInstances", "*", "Deny"),
    ([doc(allow("*"), {"Effect": "Deny", "NotAction": ["ec2:Describe*"], "Resource": "*"})],
     "ec2:DescribeImages", "*", "Allow"),
    ([doc({"Effect": "Allow", "Action": "iam:*", "NotResource": USER_BOB})], "iam:GetUser",
     USER_BOB, "ImplicitDeny"),
    ([doc({"Effect": "Allow", "Action": "iam:*", "NotResource": USER_BOB})], "iam:GetUser",
     "arn:aws:iam::123456789012:user/carol", "Allow"),
    # a single statement object rather than a list
    ([{"Version": "2012-10-17", "Statement": allow("sts:*")}], "sts:GetSessionToken", "*",
     "Allow"),
])
def test_evaluation_table(documents, action, resource, expected):
    assert evaluate(documents, action, resource) == expected


def test_documents_may_be_given_as_text():
    assert evaluate([json.dumps(doc(allow("ec2:*")))], "ec2:RunInstances", "*") == "Allow"


def test_policy_variables_expand_from_context():
    d = doc(allow("iam:*AccessKey*", "arn:aws:iam::123456789012:user/${aws:username}"))
    assert evaluate([d], "iam:CreateAccessKey", USER_BOB, {"aws:username": "bob"}) == "Allow"
    assert evaluate([d], "iam:CreateAccessKey", USER_BOB,
                    {"aws:username": "alice"}) == "ImplicitDeny"
    assert evaluate([d], "iam:CreateAccessKey", USER_BOB) == "ImplicitDeny"
    # variables are literal text in 2008-10-17 documents
    old = doc(allow("iam:*", "arn:aws:iam::123456789012:user/${aws:username}"),
              version="2008-10-17")
    assert evaluate([old], "iam:GetUser", USER_BOB, {"aws:username": "bob"}) == "ImplicitDeny"


GOOD = json.dumps(doc(allow("ec2:*")))


def test_validate_returns_the_parsed_document():
    assert validate(GOOD) == doc(allow("ec2:*"))
    no_version = json.dumps({"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}})
    assert validate(no_version)["Statement"]["Effect"] == "Deny"


@pytest.mark.parametrize("text", [
    "not json",
    "[]",
    json.dumps({"Version": "2012-10-17"}),                                       # no Statement
    json.dumps(doc()),                                                           # empty list
    json.dumps(doc({"Action": "ec2:*", "Resource": "*"})),                       # no Effect
    json.dumps(doc({"Effect": "Maybe", "Action": "ec2:*", "Resource": "*"})),
    json.dumps(doc({"Effect": "Allow", "Resource": "*"})),                       # no Action
    json.dumps(doc({"Effect": "Allow", "Action": "ec2:*", "NotAction": "s3:*", "Resource": "*"})),
    json.dumps(doc({"Effect": "Allow", "Action": "ec2:*"})),                     # no Resource
    json.dumps(doc(allow("RunInstances"))),                                      # no vendor
    json.dumps(doc(allow("ec2:*", "bucket/key"))),                               # not an ARN
    json.dumps(doc(allow("ec2:*", Principal={"AWS": "*"}))),
    json.dumps(doc(allow("ec2:*", Sausage=1))),
    json.dumps(doc(allow("ec2:*", Condition="x"))),
    json.dumps(doc(allow(7))),
    json.dumps(doc(allow("ec2:*"), version="2020-01-01")),
    json.dumps({"Statement": [allow("ec2:*")], "Extra": 1}),
])
def test_validate_rejects_malformed_documents(text):
    with pytest.raises(MalformedPolicyDocument) as err:
        validate(text)
    assert err.value.code == "MalformedPolicyDocument" and err.value.status == 400


def test_resource_policies_may_name_principals():
    text = json.dumps(doc(allow("s3:GetObject", "arn:aws:s3:::b/*", Principal={"AWS": "*"})))
    assert validate(text, kind="resource")["Statement"][0]["Principal"] == {"AWS": "*"}


from hypothesis import given, settings, strategies as st  # noqa: E402

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["Version", "Statement", "Effect", "Action", "NotAction", "Resource",
                         "Condition", "Sid", "StringEquals", "x"]), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(_json)
def test_validate_never_fails_other_than_malformed(value):
    try:
        parsed = validate(json.dumps(value))
    except MalformedPolicyDocument:
        return
    # whatever validates can be evaluated
    assert evaluate([parsed], "ec2:RunInstances", "*") in ("Allow", "Deny", "ImplicitDeny")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40))
def test_validate_arbitrary_text(text):
    try:
        validate(text)
    except MalformedPolicyDocument:
        pass
