"""Listing through boto3: V1 and V2, prefixes, delimiters, markers, tokens, url encoding."""
from __future__ import annotations

from tests.api.s3_clients import bucket, s3  # noqa: F401

KEYS = ["a.txt", "b/1", "b/2", "b/c/3", "c d/4", "c+e/5", "z"]


def _fill(s3, bucket):
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())


def test_v2_paging_and_delimiters(s3, bucket):
    _fill(s3, bucket)
    everything = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in everything["Contents"]] == KEYS
    assert everything["KeyCount"] == len(KEYS) and not everything["IsTruncated"]
    seen, token = [], None
    while True:
        page = s3.list_objects_v2(Bucket=bucket, MaxKeys=2,
                                  **({"ContinuationToken": token} if token else {}))
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == KEYS
    folded = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in folded["Contents"]] == ["a.txt", "z"]
    assert [p["Prefix"] for p in folded["CommonPrefixes"]] == ["b/", "c d/", "c+e/"]
    inner = s3.list_objects_v2(Bucket=bucket, Prefix="b/", Delimiter="/")
    assert [o["Key"] for o in inner["Contents"]] == ["b/1", "b/2"]
    assert [p["Prefix"] for p in inner["CommonPrefixes"]] == ["b/c/"]
    paged = s3.list_objects_v2(Bucket=bucket, Delimiter="/", MaxKeys=2)
    assert paged["IsTruncated"] and paged["KeyCount"] == 2
    rest = s3.list_objects_v2(Bucket=bucket, Delimiter="/",
                              ContinuationToken=paged["NextContinuationToken"])
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["c d/", "c+e/"]
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="b/2")
    assert [o["Key"] for o in after["Contents"]] == KEYS[3:]
    none = s3.list_objects_v2(Bucket=bucket, Prefix="nothing/")
    assert "Contents" not in none and none["KeyCount"] == 0


def test_v1_markers_and_url_encoding(s3, bucket):
    _fill(s3, bucket)
    first = s3.list_objects(Bucket=bucket, MaxKeys=3)
    assert [o["Key"] for o in first["Contents"]] == KEYS[:3] and first["IsTruncated"]
    assert first["Contents"][0]["Owner"]["ID"]
    second = s3.list_objects(Bucket=bucket, Marker=KEYS[2])
    assert [o["Key"] for o in second["Contents"]] == KEYS[3:]
    folded = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=2)
    assert folded["IsTruncated"] and folded["NextMarker"] == "b/"
    # asked for explicitly, botocore leaves the encoded keys alone (else it decodes them)
    encoded = s3.list_objects(Bucket=bucket, EncodingType="url", Prefix="c")
    assert [o["Key"] for o in encoded["Contents"]] == ["c%20d/4", "c%2Be/5"]
    raw = s3.list_objects_v2(Bucket=bucket, EncodingType="url", Prefix="c", Delimiter="/")
    assert [p["Prefix"] for p in raw["CommonPrefixes"]] == ["c%20d/", "c%2Be/"]


def test_many_keys_page_correctly(s3, bucket, cloud):
    import concurrent.futures
    keys = [f"k/{i:05d}" for i in range(260)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=b""), keys))
    listed = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 100}) for o in page.get("Contents", [])]
    assert listed == keys
    result = cloud.aws("s3", "ls", f"s3://{bucket}/k/")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 260
