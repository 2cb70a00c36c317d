"""EC2 NextToken/MaxResults and IAM Marker/MaxItems paging over ordered lists."""
import base64
import json

import pytest

from eucalyptus.aws.pagination import Page, decode_token, ec2_page, encode_token, iam_page
from eucalyptus.errors import InvalidParameterValue, ValidationError

ITEMS = [{"Name": f"n{i:02d}"} for i in range(12)]
KEY = lambda item: item["Name"]  # noqa: E731


def walk_ec2(items, size, **kw):
    pages, token = [], None
    while True:
        page = ec2_page(items, size, token, key=KEY, scope="Op", **kw)
        pages.append([i["Name"] for i in page.items])
        token = page.next_token
        if token is None:
            return pages


def test_ec2_pages_cover_everything_once_in_key_order():
    shuffled = ITEMS[5:] + ITEMS[:5]
    pages = walk_ec2(shuffled, 5)
    assert [len(p) for p in pages] == [5, 5, 2]
    assert sum(pages, []) == [i["Name"] for i in ITEMS]


def test_exact_multiple_has_no_trailing_token():
    pages = walk_ec2(ITEMS[:10], 5)
    assert [len(p) for p in pages] == [5, 5]


def test_no_max_results_returns_all_without_token():
    page = ec2_page(ITEMS, None, None, key=KEY)
    assert len(page.items) == 12 and page.next_token is None and not page.truncated
    assert page.ec2_output("Things") == {"Things": page.items}


def test_token_without_max_results_returns_the_rest():
    first = ec2_page(ITEMS, 5, None, key=KEY, scope="Op")
    rest = ec2_page(ITEMS, None, first.next_token, key=KEY, scope="Op")
    assert [i["Name"] for i in rest.items] == [f"n{i:02d}" for i in range(5, 12)]


def test_ec2_output_carries_next_token():
    page = ec2_page(ITEMS, 5, None, key=KEY, scope="Op")
    out = page.ec2_output("Things")
    assert out["NextToken"] == page.next_token and len(out["Things"]) == 5


def test_position_survives_deleting_the_last_returned_item():
    first = ec2_page(ITEMS, 5, None, key=KEY, scope="Op")
    remaining = [i for i in ITEMS if i["Name"] != "n04"]
    second = ec2_page(remaining, 5, first.next_token, key=KEY, scope="Op")
    assert second.items[0]["Name"] == "n05"


def test_tuple_keys_round_trip():
    items = [{"a": a, "b": b} for a in (2, 1) for b in ("y", "x")]
    key = lambda i: (i["a"], i["b"])  # noqa: E731
    p1 = ec2_page(items, 5, None, key=key, minimum=1)
    assert [(i["a"], i["b"]) for i in p1.items] == [(1, "x"), (1, "y"), (2, "x"), (2, "y")]
    p1 = ec2_page(items, 3, None, key=key, minimum=1)
    p2 = ec2_page(items, 3, p1.next_token, key=key, minimum=1)
    assert [(i["a"], i["b"]) for i in p2.items] == [(2, "y")] and p2.next_token is None


@pytest.mark.parametrize("value, message", [
    (4, "Expecting a value greater than or equal to 5."),
    (0, "Expecting a value greater than or equal to 5."),
    (-1, "Expecting a value greater than or equal to 5."),
    (1001, "Expecting a value less than or equal to 1000."),
    ("abc", "Expecting an integer between 5 and 1000."),
    (True, "Expecting an integer between 5 and 1000."),
    (2.5, "Expecting an integer between 5 and 1000."),
])
def test_ec2_max_results_bounds(value, message):
    with pytest.raises(InvalidParameterValue) as err:
        ec2_page(ITEMS, value, None, key=KEY)
    assert err.value.code == "InvalidParameterValue"
    assert err.value.message == f"Value ( {value} ) for parameter maxResults is invalid. {message}"


def test_ec2_max_results_edges_and_text():
    assert len(ec2_page(ITEMS, 5, None, key=KEY).items) == 5
    assert len(ec2_page(ITEMS, 1000, None, key=KEY).items) == 12
    assert len(ec2_page(ITEMS, "6", None, key=KEY).items) == 6
    with pytest.raises(InvalidParameterValue):
        ec2_page(ITEMS, 101, None, key=KEY, maximum=100)


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode()


@pytest.mark.parametrize("token", [
    "not a token!", "%%%", "AAAA", _b64([1, 2]), _b64({"s": "Other", "p": "n01"}),
    _b64({"s": "Op"}), _b64({"s": "Op", "p": 5}), _b64({"s": "Op", "p": {"x": 1}}),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
])
def test_bad_ec2_tokens(token):
    with pytest.raises(InvalidParameterValue) as err:
        ec2_page(ITEMS, 5, token, key=KEY, scope="Op")
    assert err.value.message == f"The pagination token '{token}' is invalid"


def test_token_from_another_scope_is_refused():
    token = ec2_page(ITEMS, 5, None, key=KEY, scope="DescribeA").next_token
    with pytest.raises(InvalidParameterValue):
        ec2_page(ITEMS, 5, token, key=KEY, scope="DescribeB")


def test_tokens_are_opaque_text_and_round_trip():
    token = encode_token("Op", ("n04", 1))
    assert "=" not in token and "n04" not in token and token.isascii()
    assert decode_token(token, "Op") == ["n04", 1]
    with pytest.raises(ValidationError):
        decode_token("???", "Op", ValidationError)


def walk_iam(items, size):
    pages, marker = [], None
    while True:
        page = iam_page(items, size, marker, key=KEY, scope="ListThings")
        out = page.iam_output("Things")
        pages.append(out)
        marker = out.get("Marker")
        if not out["IsTruncated"]:
            assert "Marker" not in out
            return pages


def test_iam_pages():
    pages = walk_iam(ITEMS, 5)
    assert [len(p["Things"]) for p in pages] == [5, 5, 2]
    assert [p["IsTruncated"] for p in pages] == [True, True, False]


def test_iam_default_is_100():
    items = [{"Name": f"u{i:03d}"} for i in range(150)]
    page = iam_page(items, None, None, key=KEY)
    assert len(page.items) == 100 and page.truncated
    assert iam_page(items, 1, None, key=KEY).truncated


@pytest.mark.parametrize("value", [0, -3, 1001, "x", None.__class__])
def test_iam_max_items_bounds(value):
    with pytest.raises(ValidationError) as err:
        iam_page(ITEMS, value, None, key=KEY)
    assert err.value.code == "ValidationError"


def test_iam_bad_marker_is_validation_error():
    with pytest.raises(ValidationError):
        iam_page(ITEMS, 5, "garbage!", key=KEY, scope="ListThings")


def test_page_output_shapes():
    assert Page([1], None).iam_output("X") == {"X": [1], "IsTruncated": False}
    assert Page([1], "t").iam_output("X") == {"X": [1], "IsTruncated": True, "Marker": "t"}
