"""Bucket lifecycle end to end: the configuration through boto3 on the shared clouds, and the
sweeper observed at work on a private cloud whose lifecycle "day" lasts two seconds
(WALRUS_LIFECYCLE_DAY_SECONDS, a test-only setting) and which sweeps every second."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from botocore.exceptions import ClientError

from eucalyptus.drivers.objects.segments import BLOCK
from tests import polling
from tests.api.blob_census import blob_files, segment_runs
from tests.api.s3_clients import s3_client


def code_of(call, **kw) -> str:
    with pytest.raises(ClientError) as info:
        call(**kw)
    return info.value.response["Error"]["Code"]


def test_configuration_round_trip_and_errors(cloud):
    s3 = s3_client(cloud)
    name = f"lc-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    try:
        assert code_of(s3.get_bucket_lifecycle_configuration, Bucket=name) \
            == "NoSuchLifecycleConfiguration"
        rules = [
            {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
             "Expiration": {"Days": 30},
             "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}},
            {"ID": "dated", "Status": "Disabled",
             "Filter": {"And": {"Prefix": "tmp/", "Tags": [{"Key": "t", "Value": "1"}],
                                "ObjectSizeGreaterThan": 10}},
             "Expiration": {"Date": dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc)}},
            {"ID": "markers", "Status": "Enabled", "Filter": {},
             "Expiration": {"ExpiredObjectDeleteMarker": True}},
        ]
        s3.put_bucket_lifecycle_configuration(Bucket=name,
                                              LifecycleConfiguration={"Rules": rules})
        assert s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"] == rules
        for bad, code in [
                ([{"ID": "a", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 0}}],
                 "InvalidArgument"),
                ([{"ID": "a", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}},
                  {"ID": "a", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 2}}],
                 "InvalidArgument"),
                ([{"ID": "a", "Status": "Enabled", "Filter": {},
                   "Expiration": {"Days": 1, "ExpiredObjectDeleteMarker": True}}],
                 "MalformedXML"),
                ([{"ID": "a", "Status": "Enabled", "Filter": {}}], "InvalidRequest")]:
            assert code_of(s3.put_bucket_lifecycle_configuration, Bucket=name,
                           LifecycleConfiguration={"Rules": bad}) == code
        assert len(s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]) == 3
        s3.delete_bucket_lifecycle(Bucket=name)
        assert code_of(s3.get_bucket_lifecycle_configuration, Bucket=name) \
            == "NoSuchLifecycleConfiguration"
    finally:
        s3.delete_bucket(Bucket=name)


def wait_for(check, timeout: float = 30.0, what: str = "condition"):
    return polling.wait_for(check, timeout, what)


def test_sweeper_expires_objects_versions_markers_and_uploads(cloud_factory):
    cloud = cloud_factory("sqlite", extra_env={"EUCA_WALRUS_LIFECYCLE_INTERVAL": "1",
                                               "EUCA_WALRUS_LIFECYCLE_DAY_SECONDS": "2",
                                               "EUCA_WALRUS_DELETE_GRACE": "0"})
    s3 = s3_client(cloud)
    walrus = cloud.data_dir / "walrus"
    files_before, packed_before = blob_files(walrus), _packed_bytes(walrus)
    plain, versioned = "lc-plain", "lc-versioned"
    s3.create_bucket(Bucket=plain)
    s3.create_bucket(Bucket=versioned)
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(Bucket=plain, LifecycleConfiguration={"Rules": [
        {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
         "Expiration": {"Days": 1}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
        {"ID": "tagged", "Status": "Enabled", "Filter": {"Tag": {"Key": "expire", "Value": "yes"}},
         "Expiration": {"Days": 1}}]})
    s3.put_bucket_lifecycle_configuration(Bucket=versioned, LifecycleConfiguration={"Rules": [
        {"ID": "v", "Status": "Enabled", "Filter": {"Prefix": "v/"}, "Expiration": {"Days": 1},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
        {"ID": "markers", "Status": "Enabled", "Filter": {"Prefix": "v/"},
         "Expiration": {"ExpiredObjectDeleteMarker": True}}]})
    for key in ("tmp/a", "tmp/b", "keep/c"):
        s3.put_object(Bucket=plain, Key=key, Body=key.encode())
    s3.put_object(Bucket=plain, Key="keep/tagged", Body=b"t", Tagging="expire=yes")
    upload = s3.create_multipart_upload(Bucket=plain, Key="tmp/big")["UploadId"]
    s3.upload_part(Bucket=plain, Key="tmp/big", UploadId=upload, PartNumber=1, Body=b"p" * 100)
    s3.put_object(Bucket=versioned, Key="v/x", Body=b"1")
    s3.put_object(Bucket=versioned, Key="v/x", Body=b"2")
    s3.put_object(Bucket=versioned, Key="other", Body=b"stays")

    def plain_keys():
        return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=plain).get("Contents", []))
    wait_for(lambda: plain_keys() == ["keep/c"], what="expiration in the plain bucket")
    wait_for(lambda: not s3.list_multipart_uploads(Bucket=plain).get("Uploads"),
             what="the stale upload to be aborted")

    def versions_of(key):
        listed = s3.list_object_versions(Bucket=versioned, Prefix=key)
        return listed.get("Versions", []) + listed.get("DeleteMarkers", [])
    # v/x: the current version gets a delete marker, then its noncurrent versions go, then
    # the marker left alone goes too.
    wait_for(lambda: versions_of("v/x") == [], what="v/x and all its versions to go")
    assert [v["Key"] for v in versions_of("other")] == ["other"]
    assert s3.get_object(Bucket=versioned, Key="other")["Body"].read() == b"stays"
    assert s3.get_object(Bucket=plain, Key="keep/c")["Body"].read() == b"keep/c"
    # what was removed took its bytes along: only keep/c and other remain (one block each
    # in the segment files that pack small objects)
    assert blob_files(walrus) == files_before
    assert _packed_bytes(walrus) - packed_before == 2 * BLOCK


def _packed_bytes(walrus) -> int:
    return sum(end - start for _segment, start, end in segment_runs(walrus))
