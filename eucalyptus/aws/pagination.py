"""Paging of ordered result lists: EC2's MaxResults/NextToken and IAM's MaxItems/Marker.

Both styles cut a list into pages by a *position key*: ``key(item)`` returns a value that is
unique per item and JSON-friendly (a string, a number, or a tuple of those); items are put in
key order, and a token names the key of the last item returned. The next page starts at the
first item whose key is greater, so an item deleted or added between calls never shifts a
page. Tokens are opaque to callers (URL-safe base64 of JSON) and carry a ``scope`` (usually the
operation name): a token that does not decode, comes from another scope or names a key of
another kind is refused with ``InvalidParameterValue`` (EC2) or ``ValidationError`` (IAM).

    page = ec2_page(items, max_results, next_token, key=lambda t: t["InstanceType"],
                    scope="DescribeInstanceTypes", maximum=100)
    return page.ec2_output("InstanceTypes")      # {"InstanceTypes": [...], "NextToken": ...}

    page = iam_page(users, max_items, marker, key=lambda u: u["UserName"], scope="ListUsers")
    return page.iam_output("Users")              # {"Users": [...], "IsTruncated": .., "Marker": ..}
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Callable

from eucalyptus.errors import ClientError, InvalidParameterValue, ValidationError

EC2_MIN_RESULTS = 5
EC2_MAX_RESULTS = 1000
IAM_DEFAULT_ITEMS = 100
IAM_MAX_ITEMS = 1000


@dataclass
class Page:
    """One page of items and the token of the next page (None on the last page)."""
    items: list
    next_token: str | None

    @property
    def truncated(self) -> bool:
        return self.next_token is not None

    def ec2_output(self, list_member: str) -> dict:
        out: dict[str, Any] = {list_member: self.items}
        if self.next_token is not None:
            out["NextToken"] = self.next_token
        return out

    def iam_output(self, list_member: str) -> dict:
        out: dict[str, Any] = {list_member: self.items, "IsTruncated": self.truncated}
        if self.next_token is not None:
            out["Marker"] = self.next_token
        return out


def encode_token(scope: str, position: Any) -> str:
    """An opaque token naming ``position`` within ``scope``."""
    raw = json.dumps({"s": scope, "p": _plain(position)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, scope: str, error: type[ClientError] = InvalidParameterValue) -> Any:
    """The position a token of ``scope`` names; raises ``error`` for anything else."""
    try:
        padded = token + "=" * (-len(token) % 4)
        doc = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode())
        if isinstance(doc, dict) and doc.get("s") == scope and "p" in doc:
            return doc["p"]
    except (ValueError, UnicodeError, binascii.Error, AttributeError):
        pass
    raise error(f"The pagination token '{token}' is invalid")


def ec2_page(items: list, max_results: int | None, next_token: str | None, *,
             key: Callable[[Any], Any], scope: str = "",
             minimum: int = EC2_MIN_RESULTS, maximum: int = EC2_MAX_RESULTS) -> Page:
    """An EC2 page: at most ``max_results`` items after ``next_token``.

    ``max_results`` None means the rest of the list (numeric text is accepted). Outside ``minimum..maximum`` it raises
    InvalidParameterValue, as do bad tokens.
    """
    if max_results is not None:
        max_results = _bounded(max_results, minimum, maximum, "maxResults", InvalidParameterValue)
    return _page(items, max_results, next_token, key, scope, InvalidParameterValue)


def iam_page(items: list, max_items: int | None, marker: str | None, *,
             key: Callable[[Any], Any], scope: str = "",
             default: int = IAM_DEFAULT_ITEMS, maximum: int = IAM_MAX_ITEMS) -> Page:
    """An IAM page: at most ``max_items`` (default 100, 1..``maximum``) items after ``marker``.

    Bounds and bad markers raise ValidationError.
    """
    if max_items is None:
        max_items = default
    else:
        max_items = _bounded(max_items, 1, maximum, "maxItems", ValidationError)
    return _page(items, max_items, marker, key, scope, ValidationError)


def _bounded(value: Any, low: int, high: int, name: str, error: type[ClientError]) -> int:
    """``value`` as an int (numeric text accepted) within ``low..high``, else ``error``."""
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"Value ( {value} ) for parameter {name} is invalid. "
                    f"Expecting an integer between {low} and {high}.")
    if value < low:
        raise error(f"Value ( {value} ) for parameter {name} is invalid. "
                    f"Expecting a value greater than or equal to {low}.")
    if value > high:
        raise error(f"Value ( {value} ) for parameter {name} is invalid. "
                    f"Expecting a value less than or equal to {high}.")
    return value


def _page(items: list, size: int | None, token: str | None, key: Callable[[Any], Any],
          scope: str, error: type[ClientError]) -> Page:
    ordered = sorted(items, key=lambda item: _plain(key(item)))
    if token:
        after = decode_token(token, scope, error)
        try:
            ordered = [item for item in ordered if _plain(key(item)) > after]
        except TypeError:
            raise error(f"The pagination token '{token}' is invalid") from None
    if size is None or len(ordered) <= size:
        return Page(ordered, None)
    page = ordered[:size]
    return Page(page, encode_token(scope, key(page[-1])))


def _plain(value: Any) -> Any:
    """Tuples as lists, so keys compare the same before and after a JSON round trip."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value
