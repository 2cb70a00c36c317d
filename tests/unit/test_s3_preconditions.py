"""Conditional headers and ranges, decided by ``preconditions.decide``."""
from __future__ import annotations

import datetime as dt

import pytest

from eucalyptus.errors import ServiceError
from eucalyptus.services.s3.preconditions import decide, parse_range

WHEN = dt.datetime(2024, 5, 1, 12, 0, 0, 500000)
BEFORE, AFTER = WHEN - dt.timedelta(days=1), WHEN + dt.timedelta(days=1)


def _decide(**kw):
    return decide(etag="abc", last_modified=WHEN, size=100, **kw)


@pytest.mark.parametrize("kw,status", [
    ({"if_match": '"abc"'}, 200), ({"if_match": '"x", "abc"'}, 200), ({"if_match": "*"}, 200),
    ({"if_match": '"x"'}, 412), ({"if_unmodified_since": BEFORE}, 412),
    ({"if_unmodified_since": AFTER}, 200), ({"if_match": '"abc"', "if_unmodified_since": BEFORE},
                                            200),
    ({"if_none_match": '"abc"'}, 304), ({"if_none_match": '"x"'}, 200),
    ({"if_modified_since": AFTER}, 304), ({"if_modified_since": WHEN.replace(microsecond=0)},
                                          304),
    ({"if_modified_since": BEFORE}, 200),
    ({"if_none_match": '"x"', "if_modified_since": AFTER}, 200),
])
def test_conditions(kw, status):
    if status == 200:
        assert _decide(**kw).status == 200
    else:
        with pytest.raises(ServiceError) as err:
            _decide(**kw)
        assert err.value.status == status


def test_writes_and_copies_fail_with_412_not_304():
    with pytest.raises(ServiceError) as err:
        _decide(if_none_match='"abc"', read=False)
    assert err.value.status == 412


@pytest.mark.parametrize("header,expected", [
    ("bytes=0-9", (0, 10)), ("bytes=90-", (90, 10)), ("bytes=-10", (90, 10)),
    ("bytes=-500", (0, 100)), ("bytes=95-200", (95, 5)), ("bytes=5-2", None),
    ("bytes=0-1,4-5", None), ("items=0-1", None), (None, None)])
def test_ranges(header, expected):
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=-0", "bytes=200-300"])
def test_unsatisfiable(header):
    with pytest.raises(ServiceError) as err:
        parse_range(header, 100)
    assert err.value.status == 416 and err.value.headers["Content-Range"] == "bytes */100"


def test_range_decision_reports_content_range():
    decision = _decide(range_header="bytes=10-19")
    assert (decision.status, decision.start, decision.length, decision.content_range) == \
        (206, 10, 10, "bytes 10-19/100")
