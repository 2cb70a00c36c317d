"""Buckets through boto3: create/head/list/location/delete, naming rules, ownership errors."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.api.s3_clients import (bucket, error_code, other_account_keys, s3,  # noqa: F401
                                  s3_client, unique_bucket)


def test_bucket_lifecycle(s3, cloud):
    name = unique_bucket("life")
    region = cloud.env["AWS_DEFAULT_REGION"]
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    try:
        assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == region
        with pytest.raises(ClientError) as again:
            s3.create_bucket(Bucket=name)
        assert error_code(again.value) == "BucketAlreadyOwnedByYou"
        s3.put_object(Bucket=name, Key="k", Body=b"x")
        with pytest.raises(ClientError) as full:
            s3.delete_bucket(Bucket=name)
        assert error_code(full.value) == "BucketNotEmpty"
        assert full.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
        s3.delete_object(Bucket=name, Key="k")
    finally:
        s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as gone:
        s3.head_bucket(Bucket=name)
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as missing:
        s3.list_objects_v2(Bucket=name)
    assert error_code(missing.value) == "NoSuchBucket"


@pytest.mark.parametrize("name", ["ab", "Upper-case", "bad_underscore", "-dash", "a..b",
                                  "192.168.1.1", "x" * 64, "xn--punycode"])
def test_invalid_bucket_names(s3, name):
    with pytest.raises(ClientError) as err:
        s3.create_bucket(Bucket=name)
    assert error_code(err.value) == "InvalidBucketName"


def test_bad_location_constraint(s3, cloud):
    with pytest.raises(ClientError) as err:
        s3.create_bucket(Bucket=unique_bucket("loc"),
                         CreateBucketConfiguration={"LocationConstraint": "mars-1"})
    assert error_code(err.value) == "InvalidLocationConstraint"
    zone = cloud.settings.zone
    name = unique_bucket("zone")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": zone})
    s3.delete_bucket(Bucket=name)


def test_other_accounts_see_nothing(s3, bucket, cloud):
    other = s3_client(cloud, *other_account_keys(cloud))
    s3.put_object(Bucket=bucket, Key="secret", Body=b"s")
    with pytest.raises(ClientError) as taken:
        other.create_bucket(Bucket=bucket)
    assert error_code(taken.value) == "BucketAlreadyExists"
    for call in (lambda: other.get_object(Bucket=bucket, Key="secret"),
                 lambda: other.list_objects_v2(Bucket=bucket),
                 lambda: other.put_object(Bucket=bucket, Key="x", Body=b"x"),
                 lambda: other.delete_bucket(Bucket=bucket)):
        with pytest.raises(ClientError) as denied:
            call()
        assert error_code(denied.value) == "AccessDenied"
    assert bucket not in [b["Name"] for b in other.list_buckets()["Buckets"]]
