"""Lifecycle configuration checks and the sweeper's decisions."""
from __future__ import annotations

import datetime as dt

import pytest

from eucalyptus.errors import ServiceError
from eucalyptus.services.s3 import lifecycle
from eucalyptus.services.s3.lifecycle import Version

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 1, 10, 30, tzinfo=UTC)


def rule(**kw) -> dict:
    base = {"ID": "r", "Status": "Enabled", "Filter": {}}
    base.update(kw)
    return base


def error_of(config) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        lifecycle.validate(config)
    return info.value


@pytest.mark.parametrize("rules, code", [
    ([], "MalformedXML"),
    ([rule(Status="On", Expiration={"Days": 1})], "MalformedXML"),
    ([rule(Prefix="a", Expiration={"Days": 1})], "MalformedXML"),          # Filter and Prefix
    ([{"Status": "Enabled", "Expiration": {"Days": 1}}], "MalformedXML"),   # neither
    ([rule(Filter={"Prefix": "a", "Tag": {"Key": "k", "Value": "v"}},
           Expiration={"Days": 1})], "MalformedXML"),
    ([rule(Expiration={"Days": 1, "Date": T0})], "MalformedXML"),
    ([rule(Expiration={"Days": 1, "ExpiredObjectDeleteMarker": True})], "MalformedXML"),
    ([rule(Expiration={"Days": 0})], "InvalidArgument"),
    ([rule(Expiration={"Date": T0})], "InvalidArgument"),                   # not midnight
    ([rule(Expiration={"Days": 1}), rule(Expiration={"Days": 2})], "InvalidArgument"),
    ([rule(ID="x" * 256, Expiration={"Days": 1})], "InvalidArgument"),
    ([rule(NoncurrentVersionExpiration={"NoncurrentDays": 0})], "InvalidArgument"),
    ([rule(AbortIncompleteMultipartUpload={"DaysAfterInitiation": -1})], "InvalidArgument"),
    ([rule(Filter={"And": {"ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 5}},
           Expiration={"Days": 1})], "InvalidArgument"),
    ([rule()], "InvalidRequest"),                                           # no action
    ([rule(Filter={"Tag": {"Key": "k", "Value": "v"}},
           AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1})], "InvalidRequest"),
])
def test_bad_configurations(rules, code):
    err = error_of({"Rules": rules})
    assert (err.code, err.status) == (code, 400)


def test_round_trip_keeps_dates():
    midnight = dt.datetime(2030, 1, 1, tzinfo=UTC)
    rules = lifecycle.validate({"Rules": [
        rule(Expiration={"Date": midnight}),
        {"ID": "old", "Status": "Disabled", "Prefix": "logs/",
         "NoncurrentVersionExpiration": {"NoncurrentDays": 3},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}},
        rule(ID="marker", Expiration={"ExpiredObjectDeleteMarker": True})]})
    assert lifecycle.load(lifecycle.dump(rules)) == rules
    assert lifecycle.load(None) == []


def test_due_rounds_up_to_whole_days():
    assert lifecycle.due(T0, 1) == dt.datetime(2026, 3, 3, tzinfo=UTC)
    assert lifecycle.due(dt.datetime(2026, 3, 1, tzinfo=UTC), 1) == dt.datetime(2026, 3, 2,
                                                                                tzinfo=UTC)
    start = dt.datetime.fromtimestamp(1001.5, UTC)
    assert lifecycle.due(start, 2, day=2).timestamp() == 1006


@pytest.mark.parametrize("flt, key, size, tags, expected", [
    ({}, "any", 0, {}, True),
    ({"Prefix": "logs/"}, "logs/a", 0, {}, True),
    ({"Prefix": "logs/"}, "data/a", 0, {}, False),
    ({"Tag": {"Key": "t", "Value": "1"}}, "k", 0, {"t": "1"}, True),
    ({"Tag": {"Key": "t", "Value": "1"}}, "k", 0, {"t": "2"}, False),
    ({"ObjectSizeGreaterThan": 10}, "k", 11, {}, True),
    ({"ObjectSizeLessThan": 10}, "k", 10, {}, False),
    ({"And": {"Prefix": "a", "Tags": [{"Key": "x", "Value": "y"}], "ObjectSizeLessThan": 5}},
     "ab", 4, {"x": "y", "z": "w"}, True),
    ({"And": {"Prefix": "a", "Tags": [{"Key": "x", "Value": "y"}]}}, "ab", 4, {}, False),
])
def test_filters(flt, key, size, tags, expected):
    assert lifecycle.applies(rule(Filter=flt, Expiration={"Days": 1}), key, size, tags) \
        is expected


def test_disabled_rule_applies_to_nothing():
    assert not lifecycle.applies(rule(Status="Disabled", Expiration={"Days": 1}), "k")


def test_current_expiration_by_days_and_date():
    rules = [rule(Filter={"Prefix": "tmp/"}, Expiration={"Days": 1})]
    v = Version("tmp/a", "v1", T0)
    assert not lifecycle.current_expired(rules, v, T0 + dt.timedelta(hours=20))
    assert lifecycle.current_expired(rules, v, dt.datetime(2026, 3, 3, tzinfo=UTC))
    assert not lifecycle.current_expired(rules, Version("keep/a", "v1", T0),
                                         T0 + dt.timedelta(days=9))
    dated = [rule(Expiration={"Date": dt.datetime(2026, 4, 1, tzinfo=UTC)})]
    assert not lifecycle.current_expired(dated, v, dt.datetime(2026, 3, 31, tzinfo=UTC))
    assert lifecycle.current_expired(dated, v, dt.datetime(2026, 4, 1, tzinfo=UTC))


def test_noncurrent_expiration_keeps_newer_versions():
    rules = [rule(NoncurrentVersionExpiration={"NoncurrentDays": 1,
                                               "NewerNoncurrentVersions": 1})]
    v = Version("k", "v1", T0, is_latest=False)
    later = T0 + dt.timedelta(days=5)
    assert lifecycle.noncurrent_expired(rules, v, T0, newer_noncurrent=1, now=later)
    assert not lifecycle.noncurrent_expired(rules, v, T0, newer_noncurrent=0, now=later)
    assert not lifecycle.noncurrent_expired(rules, v, T0, newer_noncurrent=3,
                                            now=T0 + dt.timedelta(hours=1))


def test_delete_marker_and_upload_cleanup():
    rules = [rule(Filter={"Prefix": "a"}, Expiration={"ExpiredObjectDeleteMarker": True},
                  AbortIncompleteMultipartUpload={"DaysAfterInitiation": 2})]
    assert lifecycle.marker_expired(rules, "ab", other_versions=0)
    assert not lifecycle.marker_expired(rules, "ab", other_versions=1)
    assert not lifecycle.marker_expired(rules, "b", other_versions=0)
    assert lifecycle.upload_stale(rules, "ax", T0, T0 + dt.timedelta(days=3))
    assert not lifecycle.upload_stale(rules, "ax", T0, T0 + dt.timedelta(days=1))
    assert not lifecycle.upload_stale(rules, "bx", T0, T0 + dt.timedelta(days=9))
