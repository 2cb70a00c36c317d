"""Tag set rules for buckets and objects, and the x-amz-tagging header."""
from __future__ import annotations

import pytest

from eucalyptus.errors import ServiceError
from eucalyptus.services.s3 import tagging


def tagset(n: int) -> dict:
    return {"TagSet": [{"Key": f"k{i}", "Value": f"v{i}"} for i in range(n)]}


def error_of(fn, *args) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        fn(*args)
    return info.value


def test_limits_per_kind():
    assert len(tagging.validate_tag_set(tagset(50), "bucket")) == 50
    assert error_of(tagging.validate_tag_set, tagset(51), "bucket").code == "InvalidTag"
    assert len(tagging.validate_tag_set(tagset(10), "object")) == 10
    err = error_of(tagging.validate_tag_set, tagset(11), "object")
    assert (err.code, err.message) == ("BadRequest", "Object tags cannot be greater than 10")


@pytest.mark.parametrize("pairs, message", [
    ([("k" * 129, "v")], "too long"),
    ([("k", "v" * 257)], "too long"),
    ([("", "v")], "TagKey you have provided is invalid"),
    ([("k", "bad<char>")], "TagValue you have provided is invalid"),
    ([("aws:owner", "v")], "System tags"),
    ([("k", "1"), ("k", "2")], "same key"),
])
def test_invalid_tags(pairs, message):
    err = error_of(tagging.validate_pairs, pairs, "bucket")
    assert err.code == "InvalidTag" and message in err.message


def test_edge_lengths_and_characters_allowed():
    tags = tagging.validate_pairs([("k" * 128, "v" * 256), ("a b+c-d=e.f_g:h/i@j", ""),
                                   ("ключ", "значение")], "object")
    assert len(tags) == 3


def test_missing_tag_set_is_malformed():
    assert error_of(tagging.validate_tag_set, {}, "bucket").code == "MalformedXML"


def test_header_round_trip_and_errors():
    tags = tagging.parse_header("a=1&b%20c=x%2By&empty=")
    assert tags == {"a": "1", "b c": "x+y", "empty": ""}
    assert tagging.parse_header(tagging.format_header(tags)) == tags
    assert tagging.parse_header("") == {}
    assert error_of(tagging.parse_header, "a=1&a=2").code == "InvalidTag"
    assert error_of(tagging.parse_header, "&".join(f"k{i}=v" for i in range(11))).code \
        == "BadRequest"


def test_storage_forms():
    assert tagging.dump({}) is None
    text = tagging.dump({"a": "1"})
    assert tagging.load(text) == {"a": "1"} and tagging.count(text) == 1
    assert tagging.load('[{"Key": "x", "Value": "y"}]') == {"x": "y"}
    assert tagging.tag_set({"x": "y"}) == [{"Key": "x", "Value": "y"}]
    assert tagging.count(None) == 0
