"""Bucket and object tagging end to end with boto3 (and one AWS CLI call): tag sets, the
x-amz-tagging header on PutObject / CopyObject, x-amz-tagging-count, versions, limits."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.api.s3_clients import empty_bucket, s3_client, unique_bucket


@pytest.fixture
def bucket(cloud):
    s3 = s3_client(cloud)
    name = unique_bucket("tags")
    s3.create_bucket(Bucket=name)
    yield s3, name
    empty_bucket(s3, name)
    s3.delete_bucket(Bucket=name)


def code_of(call, **kw) -> str:
    with pytest.raises(ClientError) as info:
        call(**kw)
    return info.value.response["Error"]["Code"]


def tags(n: int, prefix: str = "k") -> list[dict]:
    return [{"Key": f"{prefix}{i}", "Value": f"v{i}"} for i in range(n)]


def test_bucket_tagging(bucket):
    s3, name = bucket
    assert code_of(s3.get_bucket_tagging, Bucket=name) == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags(50)})
    assert sorted(t["Key"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]) == \
        sorted(f"k{i}" for i in range(50))
    assert code_of(s3.put_bucket_tagging, Bucket=name, Tagging={"TagSet": tags(51)}) \
        == "InvalidTag"
    assert code_of(s3.put_bucket_tagging, Bucket=name, Tagging={"TagSet": [
        {"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}) == "InvalidTag"
    assert code_of(s3.put_bucket_tagging, Bucket=name, Tagging={"TagSet": [
        {"Key": "k" * 129, "Value": "1"}]}) == "InvalidTag"
    assert len(s3.get_bucket_tagging(Bucket=name)["TagSet"]) == 50
    s3.delete_bucket_tagging(Bucket=name)
    assert code_of(s3.get_bucket_tagging, Bucket=name) == "NoSuchTagSet"


def test_object_tagging_header_count_and_copy(bucket):
    s3, name = bucket
    s3.put_object(Bucket=name, Key="doc", Body=b"x", Tagging="team=blue&stage=dev%20one")
    assert s3.head_object(Bucket=name, Key="doc")["ResponseMetadata"]["HTTPHeaders"][
        "x-amz-tagging-count"] == "2"
    assert s3.get_object(Bucket=name, Key="doc")["TagCount"] == 2
    got = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=name, Key="doc")["TagSet"]}
    assert got == {"team": "blue", "stage": "dev one"}
    s3.copy_object(Bucket=name, Key="copied", CopySource={"Bucket": name, "Key": "doc"})
    assert len(s3.get_object_tagging(Bucket=name, Key="copied")["TagSet"]) == 2
    s3.copy_object(Bucket=name, Key="replaced", CopySource={"Bucket": name, "Key": "doc"},
                   TaggingDirective="REPLACE", Tagging="only=one")
    assert s3.get_object_tagging(Bucket=name, Key="replaced")["TagSet"] == [
        {"Key": "only", "Value": "one"}]
    s3.put_object_tagging(Bucket=name, Key="doc", Tagging={"TagSet": tags(10)})
    assert len(s3.get_object_tagging(Bucket=name, Key="doc")["TagSet"]) == 10
    assert code_of(s3.put_object_tagging, Bucket=name, Key="doc",
                   Tagging={"TagSet": tags(11)}) == "BadRequest"
    assert code_of(s3.put_object, Bucket=name, Key="bad", Body=b"", Tagging="a=1&a=2") \
        == "InvalidTag"
    assert code_of(s3.put_object_tagging, Bucket=name, Key="missing",
                   Tagging={"TagSet": tags(1)}) == "NoSuchKey"
    s3.delete_object_tagging(Bucket=name, Key="doc")
    assert s3.get_object_tagging(Bucket=name, Key="doc")["TagSet"] == []
    assert "TagCount" not in s3.head_object(Bucket=name, Key="doc")


def test_object_tagging_by_version(bucket):
    s3, name = bucket
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=name, Key="v", Body=b"1", Tagging="gen=1")["VersionId"]
    second = s3.put_object(Bucket=name, Key="v", Body=b"2")["VersionId"]
    out = s3.put_object_tagging(Bucket=name, Key="v", VersionId=first,
                                Tagging={"TagSet": [{"Key": "gen", "Value": "old"}]})
    assert out["VersionId"] == first
    assert s3.get_object_tagging(Bucket=name, Key="v", VersionId=first)["TagSet"] == [
        {"Key": "gen", "Value": "old"}]
    latest = s3.get_object_tagging(Bucket=name, Key="v")
    assert latest["TagSet"] == [] and latest["VersionId"] == second


def test_aws_cli_object_tagging(cloud, bucket):
    s3, name = bucket
    s3.put_object(Bucket=name, Key="cli", Body=b"x")
    tagging = json.dumps({"TagSet": [{"Key": "via", "Value": "cli"}]})
    done = cloud.aws("s3api", "put-object-tagging", "--bucket", name, "--key", "cli",
                     "--tagging", tagging)
    assert done.returncode == 0, done.stderr
    done = cloud.aws("s3api", "get-object-tagging", "--bucket", name, "--key", "cli",
                     "--output", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["TagSet"] == [{"Key": "via", "Value": "cli"}]
