"""Bucket lifecycle: the configuration (Put/Get/DeleteBucketLifecycleConfiguration) and the
decisions the Walrus sweeper (``eucalyptus.walrus.sweeper``) carries out.

A configuration is a list of rules, kept as JSON text in ``buckets.lifecycle``. A rule has an
optional ``ID`` (unique, at most 255 characters), ``Status`` (Enabled | Disabled), a ``Filter``
(empty, or exactly one of ``Prefix``, ``Tag``, ``ObjectSizeGreaterThan``,
``ObjectSizeLessThan``, ``And``) or the older top-level ``Prefix``, and at least one action:

* ``Expiration``: ``Days`` or ``Date`` (current versions), or ``ExpiredObjectDeleteMarker``;
* ``NoncurrentVersionExpiration``: ``NoncurrentDays`` (+ ``NewerNoncurrentVersions`` kept);
* ``AbortIncompleteMultipartUpload``: ``DaysAfterInitiation``;
* ``Transitions`` / ``NoncurrentVersionTransitions`` are accepted and kept; Walrus has one
  storage tier, so moving an object between classes changes nothing.

Time: an age of N days is due at ``start + N * day`` rounded up to the next whole ``day`` since
the epoch; with the real 86400-second day that is S3's "next midnight UTC". The sweeper passes
``day`` from WALRUS_LIFECYCLE_DAY_SECONDS so tests can use days of a few seconds.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from eucalyptus.aws.dispatch import operation
from eucalyptus.errors import ClientError
from eucalyptus.services.s3 import access
from eucalyptus.services.s3.buckets import load_bucket
from eucalyptus.services.s3.errors import malformed_xml, s3_error

MAX_RULES = 1000
MAX_ID_LENGTH = 255
DAY = 86400.0
UTC = dt.timezone.utc
_ACTIONS = ("Expiration", "NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload",
            "Transitions", "NoncurrentVersionTransitions")
_FILTER_KINDS = ("Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan", "And")


def invalid_argument(message: str) -> ClientError:
    return ClientError("InvalidArgument", message)


# ---------------------------------------------------------------- validation

def _positive(value: Any, what: str, action: str) -> None:
    if value is None or value <= 0:
        raise invalid_argument(f"'{what}' for {action} action must be a positive integer")


def _check_filter(rule: Mapping[str, Any]) -> bool:
    """Validate the rule's filter; True when it selects by tag."""
    if "Filter" in rule and "Prefix" in rule:
        raise malformed_xml()
    if "Filter" not in rule and "Prefix" not in rule:
        raise malformed_xml()
    flt = rule.get("Filter") or {}
    if len([k for k in _FILTER_KINDS if k in flt]) > 1:
        raise malformed_xml()
    by_tag = "Tag" in flt
    sizes = flt
    if "And" in flt:
        conj = flt["And"]
        tags = conj.get("Tags") or []
        keys = [t.get("Key") for t in tags]
        if len(set(keys)) != len(keys):
            raise invalid_argument("Duplicate Tag Keys are not allowed.")
        by_tag = bool(tags)
        sizes = conj
    for name in ("ObjectSizeGreaterThan", "ObjectSizeLessThan"):
        if name in sizes and sizes[name] < 0:
            raise invalid_argument(f"'{name}' must be a non-negative integer")
    if ("ObjectSizeGreaterThan" in sizes and "ObjectSizeLessThan" in sizes
            and sizes["ObjectSizeGreaterThan"] >= sizes["ObjectSizeLessThan"]):
        raise invalid_argument("ObjectSizeGreaterThan must be less than ObjectSizeLessThan")
    return by_tag


def _check_expiration(exp: Mapping[str, Any], by_tag: bool) -> None:
    present = [k for k in ("Days", "Date", "ExpiredObjectDeleteMarker") if k in exp]
    if len(present) != 1:
        raise malformed_xml()
    if "Days" in exp:
        _positive(exp["Days"], "Days", "Expiration")
    elif "Date" in exp:
        date = exp["Date"]
        if (date.hour, date.minute, date.second, date.microsecond) != (0, 0, 0, 0):
            raise invalid_argument("'Date' must be at midnight GMT")
    elif by_tag and exp["ExpiredObjectDeleteMarker"]:
        raise invalid_argument("ExpiredObjectDeleteMarker cannot be specified with tags.")


def validate(configuration: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The rules of a ``LifecycleConfiguration`` input, or the error S3 answers for it.

    MalformedXML: no rules, more than 1000, a bad Status, Filter and Prefix together (or
    neither), a filter naming more than one condition, an Expiration with not exactly one of
    Days / Date / ExpiredObjectDeleteMarker. InvalidArgument: duplicate or over-long IDs,
    non-positive day counts, a Date not at midnight UTC, bad size bounds.
    InvalidRequest: a rule without any action, tag filters with marker or upload cleanup.
    """
    rules = list((configuration or {}).get("Rules") or [])
    if not rules or len(rules) > MAX_RULES:
        raise malformed_xml()
    seen: set[str] = set()
    for rule in rules:
        if rule.get("Status") not in ("Enabled", "Disabled"):
            raise malformed_xml()
        rule_id = rule.get("ID")
        if rule_id is not None:
            if len(rule_id) > MAX_ID_LENGTH:
                raise invalid_argument("ID length should not exceed allowed limit of 255")
            if rule_id in seen:
                raise invalid_argument("Rule ID must be unique. Found same ID for more than "
                                       "one rule")
            seen.add(rule_id)
        by_tag = _check_filter(rule)
        if not any(rule.get(action) for action in _ACTIONS):
            raise ClientError("InvalidRequest", "At least one action needs to be specified in "
                              "a rule")
        if "Expiration" in rule:
            _check_expiration(rule["Expiration"], by_tag)
        if "NoncurrentVersionExpiration" in rule:
            nve = rule["NoncurrentVersionExpiration"]
            _positive(nve.get("NoncurrentDays"), "NoncurrentDays",
                      "NoncurrentVersionExpiration")
            if "NewerNoncurrentVersions" in nve:
                _positive(nve["NewerNoncurrentVersions"], "NewerNoncurrentVersions",
                          "NoncurrentVersionExpiration")
        if "AbortIncompleteMultipartUpload" in rule:
            if by_tag:
                raise ClientError("InvalidRequest", "AbortIncompleteMultipartUpload cannot be "
                                  "specified with Tags.")
            _positive(rule["AbortIncompleteMultipartUpload"].get("DaysAfterInitiation"),
                      "DaysAfterInitiation", "AbortIncompleteMultipartUpload")
    return rules


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$date": value.astimezone(UTC).isoformat()}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _revive(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$date"}:
            return dt.datetime.fromisoformat(value["$date"])
        return {k: _revive(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revive(v) for v in value]
    return value


def dump(rules: list[dict[str, Any]]) -> str:
    """The JSON text stored in ``buckets.lifecycle`` (dates kept as tagged ISO strings)."""
    return json.dumps(_jsonable(rules), separators=(",", ":"))


def load(text: str | None) -> list[dict[str, Any]]:
    """Rules (botocore ``LifecycleRule`` shape) from stored text; ``[]`` when none."""
    return _revive(json.loads(text)) if text else []


# ---------------------------------------------------------------- decisions

@dataclass
class Version:
    """What the sweeper knows of one object version (or delete marker)."""
    key: str
    version_id: str
    created: dt.datetime                # aware UTC
    size: int = 0
    is_latest: bool = True
    is_delete_marker: bool = False
    tags: dict[str, str] = field(default_factory=dict)


def due(start: dt.datetime, days: int, day: float = DAY) -> dt.datetime:
    """When an age of ``days`` counted from ``start`` is reached (rounded up to a whole day)."""
    seconds = start.timestamp() + days * day
    return dt.datetime.fromtimestamp(math.ceil(seconds / day) * day, UTC)


def rule_prefix(rule: Mapping[str, Any]) -> str:
    flt = rule.get("Filter") or {}
    if "Prefix" in rule:
        return rule["Prefix"] or ""
    if "And" in flt:
        return flt["And"].get("Prefix") or ""
    return flt.get("Prefix") or ""


def applies(rule: Mapping[str, Any], key: str, size: int = 0,
            tags: Mapping[str, str] | None = None) -> bool:
    """Whether an enabled ``rule``'s filter selects an object with this key, size and tags."""
    if rule.get("Status") != "Enabled" or not key.startswith(rule_prefix(rule)):
        return False
    flt = rule.get("Filter") or {}
    cond = flt.get("And", flt)
    wanted = list(cond.get("Tags") or []) + ([flt["Tag"]] if "Tag" in flt else [])
    tags = tags or {}
    if any(tags.get(t["Key"]) != t.get("Value", "") for t in wanted):
        return False
    if "ObjectSizeGreaterThan" in cond and not size > cond["ObjectSizeGreaterThan"]:
        return False
    if "ObjectSizeLessThan" in cond and not size < cond["ObjectSizeLessThan"]:
        return False
    return True


def current_expired(rules: list[dict], version: Version, now: dt.datetime,
                    day: float = DAY) -> bool:
    """Whether a current (latest, not a delete marker) version has reached its Expiration."""
    for rule in rules:
        exp = rule.get("Expiration") or {}
        if not applies(rule, version.key, version.size, version.tags):
            continue
        if "Days" in exp and now >= due(version.created, exp["Days"], day):
            return True
        if "Date" in exp and now >= exp["Date"]:
            return True
    return False


def noncurrent_expired(rules: list[dict], version: Version, noncurrent_since: dt.datetime,
                       newer_noncurrent: int, now: dt.datetime, day: float = DAY) -> bool:
    """Whether a noncurrent version is due for removal.

    ``noncurrent_since`` is when its successor was made; ``newer_noncurrent`` how many
    noncurrent versions of the same key are newer than it (NewerNoncurrentVersions keeps that
    many).
    """
    for rule in rules:
        nve = rule.get("NoncurrentVersionExpiration") or {}
        if not nve or not applies(rule, version.key, version.size, version.tags):
            continue
        if newer_noncurrent < nve.get("NewerNoncurrentVersions", 0):
            continue
        if now >= due(noncurrent_since, nve["NoncurrentDays"], day):
            return True
    return False


def marker_expired(rules: list[dict], key: str, other_versions: int) -> bool:
    """Whether a current delete marker with ``other_versions`` other versions of its key
    should go (ExpiredObjectDeleteMarker: it is the only version left)."""
    if other_versions:
        return False
    return any(rule.get("Status") == "Enabled" and key.startswith(rule_prefix(rule))
               and (rule.get("Expiration") or {}).get("ExpiredObjectDeleteMarker")
               for rule in rules)


def upload_stale(rules: list[dict], key: str, initiated: dt.datetime, now: dt.datetime,
                 day: float = DAY) -> bool:
    """Whether a multipart upload started at ``initiated`` should be aborted."""
    for rule in rules:
        abort = rule.get("AbortIncompleteMultipartUpload") or {}
        if (abort and rule.get("Status") == "Enabled" and key.startswith(rule_prefix(rule))
                and now >= due(initiated, abort["DaysAfterInitiation"], day)):
            return True
    return False


# ---------------------------------------------------------------- handlers

@operation
def put_bucket_lifecycle_configuration(ctx, bucket, lifecycle_configuration=None, **_):
    row = load_bucket(ctx, bucket)
    access.authorize(ctx, "s3:PutLifecycleConfiguration", row)
    row.lifecycle = dump(validate(lifecycle_configuration))
    return {}


@operation
def get_bucket_lifecycle_configuration(ctx, bucket, **_):
    row = load_bucket(ctx, bucket)
    access.authorize(ctx, "s3:GetLifecycleConfiguration", row)
    rules = load(row.lifecycle)
    if not rules:
        raise s3_error("NoSuchLifecycleConfiguration", "The lifecycle configuration does not "
                       "exist", 404, BucketName=bucket)
    return {"Rules": rules}


@operation
def delete_bucket_lifecycle(ctx, bucket, **_):
    row = load_bucket(ctx, bucket)
    access.authorize(ctx, "s3:PutLifecycleConfiguration", row)
    row.lifecycle = None
    return {}
