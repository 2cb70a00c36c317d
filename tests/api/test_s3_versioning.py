"""Versioning through boto3: version ids, delete markers, ListObjectVersions, "null" versions."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.api.s3_clients import bucket, error_code, s3  # noqa: F401


def test_versions_and_delete_markers(s3, bucket):
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"before")          # the "null" version
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2 and "null" not in (v1, v2)
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"two" and got["VersionId"] == v2
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"one"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"before"
    marker = s3.delete_object(Bucket=bucket, Key="k")
    assert marker["DeleteMarker"] is True
    with pytest.raises(ClientError) as gone:
        s3.get_object(Bucket=bucket, Key="k")
    assert error_code(gone.value) == "NoSuchKey"
    assert gone.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with pytest.raises(ClientError) as on_marker:
        s3.get_object(Bucket=bucket, Key="k", VersionId=marker["VersionId"])
    assert on_marker.value.response["ResponseMetadata"]["HTTPStatusCode"] == 405
    listing = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in listing["Versions"]] == [v2, v1, "null"]
    assert [m["VersionId"] for m in listing["DeleteMarkers"]] == [marker["VersionId"]]
    assert listing["DeleteMarkers"][0]["IsLatest"] is True
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    s3.delete_object(Bucket=bucket, Key="k", VersionId=marker["VersionId"])  # undelete
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="k")["VersionId"] == v1
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=bucket, Key="k", VersionId=v2)
    assert error_code(missing.value) == "NoSuchVersion"


def test_suspended_uses_the_null_version(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kept = s3.put_object(Bucket=bucket, Key="s", Body=b"kept")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.put_object(Bucket=bucket, Key="s", Body=b"a")["VersionId"] == "null"
    assert s3.put_object(Bucket=bucket, Key="s", Body=b"b")["VersionId"] == "null"
    versions = s3.list_object_versions(Bucket=bucket, Prefix="s")["Versions"]
    assert [v["VersionId"] for v in versions] == ["null", kept]
    assert s3.get_object(Bucket=bucket, Key="s")["Body"].read() == b"b"
    with pytest.raises(ClientError) as bad:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Maybe"})
    assert error_code(bad.value) == "MalformedXML"


def test_version_listing_pages(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    made = [s3.put_object(Bucket=bucket, Key=f"p/{i % 2}", Body=b"x")["VersionId"]
            for i in range(5)]
    seen = []
    for page in s3.get_paginator("list_object_versions").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": 2}):
        seen += [v["VersionId"] for v in page.get("Versions", [])]
    assert sorted(seen) == sorted(made) and len(seen) == 5
