"""Overlaid service models, through our loader and through real botocore clients."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from tests.protocol.botocore_wire import serve_client_in_process

from eucalyptus import errors
from eucalyptus.aws import specs

CREDENTIALS = {"region_name": "us-east-1", "endpoint_url": "http://127.0.0.1:8773",
               "aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret"}


def test_deep_merge_adds_replaces_and_deletes():
    base = {"a": {"b": 1, "c": [1, 2], "d": "x"}, "e": 1}
    specs.deep_merge(base, {"a": {"b": 2, "c": [3], "d": None, "n": {"m": 1}}, "f": 2})
    assert base == {"a": {"b": 2, "c": [3], "n": {"m": 1}}, "e": 1, "f": 2}


def test_service_names_and_aliases():
    assert specs.service_model("monitoring").service_name == "cloudwatch"
    assert specs.service_model("euare") is specs.service_model("iam")
    assert specs.service_model("ec2").protocol == "ec2"


def test_iam_overlay_adds_account_operations():
    model = specs.service_model("iam")
    for name in ("CreateAccount", "ListAccounts", "DeleteAccount"):
        assert name in model.operation_names
    create = model.operation_model("CreateAccount")
    assert create.input_shape.required_members == ["AccountName"]
    assert create.output_shape.serialization["resultWrapper"] == "CreateAccountResult"
    assert set(model.operation_model("DeleteAccount").input_shape.members) == \
        {"AccountName", "Recursive"}
    # botocore's own operations are all still there
    assert "CreateUser" in model.operation_names and len(model.operation_names) > 150


def test_botocore_client_calls_account_operations():
    session = specs.botocore_session_with_overlays()
    client = session.create_client("iam", **CREDENTIALS)
    accounts = {}

    def handler(name, params):
        if name == "CreateAccount":
            if params["AccountName"] in accounts:
                raise errors.EntityAlreadyExists("Account already exists")
            accounts[params["AccountName"]] = "123456789012"
            return {"Account": {"AccountName": params["AccountName"],
                                "AccountId": accounts[params["AccountName"]]}}
        if name == "ListAccounts":
            return {"Accounts": [{"AccountName": k, "AccountId": v}
                                 for k, v in accounts.items()]}
        if name == "DeleteAccount":
            accounts.pop(params["AccountName"])
            return {}
        raise errors.InvalidAction(name)

    calls = serve_client_in_process(client, specs.service_model("iam"), handler)
    created = client.create_account(AccountName="dev")
    assert created["Account"] == {"AccountName": "dev", "AccountId": "123456789012"}
    assert created["ResponseMetadata"]["RequestId"] == "rid-c"
    assert client.list_accounts()["Accounts"] == [{"AccountName": "dev",
                                                   "AccountId": "123456789012"}]
    with pytest.raises(client.exceptions.EntityAlreadyExistsException) as caught:
        client.create_account(AccountName="dev")
    assert caught.value.response["Error"]["Code"] == "EntityAlreadyExists"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    client.delete_account(AccountName="dev", Recursive=True)
    assert calls[-1] == ("DeleteAccount", {"AccountName": "dev", "Recursive": True})


def test_s3_client_path_style_and_bucket_location(tmp_path):
    import botocore.config
    session = specs.botocore_session_with_overlays()
    client = session.create_client("s3", config=botocore.config.Config(
        s3={"addressing_style": "path"}), **CREDENTIALS)

    def handler(name, params):
        if name == "GetBucketLocation":
            return {"LocationConstraint": "eu-1"}
        if name == "PutObject":
            assert params["Body"] == b"hello"
            return {"ETag": '"5d41402abc4b2a76b9719d911017c592"'}
        if name == "GetObject":
            return {"Body": b"hello", "ContentLength": 5,
                    "LastModified": dt.datetime(2024, 1, 2, 3, 4, 5), "Metadata": {"a": "b"}}
        raise errors.ServiceError("NoSuchBucket", "The specified bucket does not exist",
                                  status=404)

    calls = serve_client_in_process(client, specs.service_model("s3"), handler)
    assert client.get_bucket_location(Bucket="bkt")["LocationConstraint"] == "eu-1"
    assert client.put_object(Bucket="bkt", Key="a/b c", Body=b"hello")["ETag"]
    assert calls[-1][1]["Key"] == "a/b c"
    got = client.get_object(Bucket="bkt", Key="a/b c")
    assert got["Body"].read() == b"hello"
    assert got["LastModified"] == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert got["Metadata"] == {"a": "b"}
    with pytest.raises(client.exceptions.NoSuchBucket):
        client.list_objects_v2(Bucket="none")


def test_write_overlaid_models_for_aws_data_path(tmp_path):
    root = specs.write_overlaid_models(tmp_path)
    written = json.loads((root / "iam" / "2010-05-08" / "service-2.json").read_text())
    assert "CreateAccount" in written["operations"]
