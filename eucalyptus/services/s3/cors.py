"""Bucket CORS: the configuration (Put/Get/DeleteBucketCors) and the answers browsers get.

A configuration is a list of rules, kept as JSON text in ``buckets.cors``. Each rule has
``AllowedOrigins`` and ``AllowedMethods`` (required), ``AllowedHeaders``, ``ExposeHeaders``,
``MaxAgeSeconds`` and ``ID``. An origin or allowed header may hold one ``*`` standing for any
run of characters; origins compare case-sensitively, headers case-insensitively.

Two uses at request time, both decided by the first rule that matches:

* ``preflight(cors_text, headers)`` answers an unauthenticated ``OPTIONS`` request: the
  ``Access-Control-*`` headers of a 200, or a raised error (400 ``BadRequest`` for a request that
  is not a preflight, 403 ``AccessForbidden`` when CORS is off or no rule allows it).
* ``response_headers(cors_text, origin, method)`` gives the headers added to an ordinary
  response to a request carrying ``Origin`` (empty when nothing matches).

The Walrus pipeline calls them through ``preflight_for(session, path, headers)`` (before any
authentication: preflights are never signed) and ``headers_for(session, path, origin,
method)``, which find the bucket a path-style path names.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from eucalyptus.aws.dispatch import operation
from eucalyptus.db.objects import Bucket
from eucalyptus.errors import ClientError, ServiceError
from eucalyptus.services.s3 import access
from eucalyptus.services.s3.buckets import load_bucket
from eucalyptus.services.s3.errors import malformed_xml, s3_error

METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE")
MAX_RULES = 100
MAX_ID_LENGTH = 255
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
NOT_ALLOWED = ("CORSResponse: This CORS request is not allowed. This is usually because the "
               "evalution of Origin, request method / Access-Control-Request-Method or "
               "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
NOT_ENABLED = "CORSResponse: CORS is not enabled for this bucket."


def forbidden(message: str, method: str | None = None) -> ServiceError:
    return s3_error("AccessForbidden", message, 403, Method=method)


@dataclass(frozen=True)
class Rule:
    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    max_age: int | None = None
    id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The rule in botocore's ``CORSRule`` shape (empty lists left out)."""
        out: dict[str, Any] = {"AllowedOrigins": list(self.origins),
                               "AllowedMethods": list(self.methods)}
        if self.id is not None:
            out["ID"] = self.id
        if self.headers:
            out["AllowedHeaders"] = list(self.headers)
        if self.expose:
            out["ExposeHeaders"] = list(self.expose)
        if self.max_age is not None:
            out["MaxAgeSeconds"] = self.max_age
        return out


# ---------------------------------------------------------------- configuration

def _one_wildcard(kind: str, value: str) -> None:
    if value.count("*") > 1:
        raise ClientError("InvalidRequest",
                          f'{kind} "{value}" can not have more than one wildcard.')


def validate(configuration: Mapping[str, Any] | None) -> list[Rule]:
    """The rules of a ``CORSConfiguration`` input, or the error S3 answers for it.

    MalformedXML: no rules, more than 100, a rule without origins or methods.
    InvalidRequest: an unsupported method, more than one ``*`` in an origin or allowed header,
    a ``*`` in an exposed header. InvalidArgument: a negative MaxAgeSeconds, an over-long ID.
    """
    raw_rules = (configuration or {}).get("CORSRules") or []
    if not raw_rules or len(raw_rules) > MAX_RULES:
        raise malformed_xml()
    rules = []
    for raw in raw_rules:
        origins = tuple(raw.get("AllowedOrigins") or ())
        methods = tuple(raw.get("AllowedMethods") or ())
        if not origins or not methods:
            raise malformed_xml()
        for method in methods:
            if method not in METHODS:
                raise ClientError("InvalidRequest", "Found unsupported HTTP method in CORS "
                                  f"config. Unsupported method is {method}")
        for origin in origins:
            _one_wildcard("AllowedOrigin", origin)
        headers = tuple(raw.get("AllowedHeaders") or ())
        for header in headers:
            _one_wildcard("AllowedHeader", header)
        expose = tuple(raw.get("ExposeHeaders") or ())
        for header in expose:
            if "*" in header:
                raise ClientError("InvalidRequest", f'ExposeHeader "{header}" contains '
                                  "wildcard. We currently do not support wildcard for "
                                  "ExposeHeader.")
        max_age = raw.get("MaxAgeSeconds")
        if max_age is not None and max_age < 0:
            raise ClientError("InvalidArgument", "MaxAgeSeconds must not be negative")
        rule_id = raw.get("ID")
        if rule_id is not None and len(rule_id) > MAX_ID_LENGTH:
            raise ClientError("InvalidArgument", "The ID of a CORS rule must be at most "
                              f"{MAX_ID_LENGTH} characters")
        rules.append(Rule(origins, methods, headers, expose, max_age, rule_id))
    return rules


def dump(rules: list[Rule]) -> str:
    """The JSON text stored in ``buckets.cors``."""
    return json.dumps([rule.as_dict() for rule in rules], separators=(",", ":"))


def load(text: str | None) -> list[Rule]:
    """Rules from stored text; ``[]`` when there is no configuration."""
    if not text:
        return []
    return [Rule(tuple(r["AllowedOrigins"]), tuple(r["AllowedMethods"]),
                 tuple(r.get("AllowedHeaders", ())), tuple(r.get("ExposeHeaders", ())),
                 r.get("MaxAgeSeconds"), r.get("ID")) for r in json.loads(text)]


# ---------------------------------------------------------------- matching

def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """Whether ``value`` fits ``pattern``, whose single ``*`` (if any) matches any run."""
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    head, star, tail = pattern.partition("*")
    if not star:
        return pattern == value
    return (len(value) >= len(head) + len(tail) and value.startswith(head)
            and value.endswith(tail))


def _origin_pattern(rule: Rule, origin: str) -> str | None:
    for pattern in rule.origins:
        if wildcard_match(pattern, origin):
            return pattern
    return None


def find_rule(rules: list[Rule], origin: str, method: str,
              request_headers: tuple[str, ...] = ()) -> tuple[Rule, str] | None:
    """The first rule allowing ``origin``, ``method`` and every requested header, with the
    origin pattern that matched; ``None`` when no rule does."""
    for rule in rules:
        pattern = _origin_pattern(rule, origin)
        if pattern is None or method not in rule.methods:
            continue
        if all(any(wildcard_match(allowed, header, ignore_case=True) for allowed in rule.headers)
               for header in request_headers):
            return rule, pattern
    return None


def _common_headers(rule: Rule, pattern: str, origin: str) -> dict[str, str]:
    headers = {"Access-Control-Allow-Origin": "*" if pattern == "*" else origin,
               "Access-Control-Allow-Methods": ", ".join(rule.methods),
               "Vary": VARY}
    if pattern != "*":
        headers["Access-Control-Allow-Credentials"] = "true"
    if rule.expose:
        headers["Access-Control-Expose-Headers"] = ", ".join(rule.expose)
    if rule.max_age is not None:
        headers["Access-Control-Max-Age"] = str(rule.max_age)
    return headers


def requested_headers(text: str) -> tuple[str, ...]:
    """The names listed in an ``Access-Control-Request-Headers`` value."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def preflight(cors_text: str | None, headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of a 200 answer to an ``OPTIONS`` preflight, or the error S3 gives.

    ``cors_text`` is the bucket's stored configuration (None when it has none); ``headers``
    the request's (case-insensitive mapping).
    """
    origin = headers.get("Origin")
    if not origin:
        raise ClientError("BadRequest", "Insufficient information. Origin request header "
                          "needed.")
    method = headers.get("Access-Control-Request-Method")
    if method not in METHODS:
        raise ClientError("BadRequest", f"Invalid Access-Control-Request-Method: {method}")
    rules = load(cors_text)
    if not rules:
        raise forbidden(NOT_ENABLED, method)
    asked = requested_headers(headers.get("Access-Control-Request-Headers", ""))
    found = find_rule(rules, origin, method, asked)
    if found is None:
        raise forbidden(NOT_ALLOWED, method)
    rule, pattern = found
    answer = _common_headers(rule, pattern, origin)
    if asked:
        answer["Access-Control-Allow-Headers"] = ", ".join(asked)
    return answer


def response_headers(cors_text: str | None, origin: str | None, method: str) -> dict[str, str]:
    """CORS headers for an ordinary response to ``method`` from ``origin``; ``{}`` if none."""
    if not origin or not cors_text:
        return {}
    found = find_rule(load(cors_text), origin, method)
    if found is None:
        return {}
    return _common_headers(*found, origin)


# ---------------------------------------------------------------- in the Walrus pipeline

def bucket_of(path: str) -> str | None:
    """The bucket named by a path-style request path (``/bucket/key``), if any."""
    name = path.lstrip("/").split("/", 1)[0]
    return name or None


def preflight_for(session, path: str, headers: Mapping[str, str]) -> dict[str, str]:
    """:func:`preflight` for the bucket a path-style ``OPTIONS`` request names. Preflights are
    never signed, so this runs before (and instead of) authentication."""
    name = bucket_of(path)
    row = session.get(Bucket, name) if name else None
    if row is None:
        if headers.get("Origin") and headers.get("Access-Control-Request-Method") in METHODS:
            raise forbidden("CORSResponse: Bucket not found",
                            headers.get("Access-Control-Request-Method"))
        return preflight(None, headers)
    return preflight(row.cors, headers)


def headers_for(session, path: str, origin: str | None, method: str) -> dict[str, str]:
    """:func:`response_headers` for the bucket a path-style request path names."""
    name = bucket_of(path) if origin else None
    row = session.get(Bucket, name) if name else None
    return response_headers(row.cors if row is not None else None, origin, method)


# ---------------------------------------------------------------- handlers

@operation
def put_bucket_cors(ctx, bucket, cors_configuration=None, **_):
    row = load_bucket(ctx, bucket)
    access.authorize(ctx, "s3:PutBucketCORS", row)
    row.cors = dump(validate(cors_configuration))
    return {}


@operation
def get_bucket_cors(ctx, bucket, **_):
    row = load_bucket(ctx, bucket)
    access.authorize(ctx, "s3:GetBucketCORS", row)
    rules = load(row.cors)
    if not rules:
        raise s3_error("NoSuchCORSConfiguration", "The CORS configuration does not exist", 404,
                       BucketName=bucket)
    return {"CORSRules": [rule.as_dict() for rule in rules]}


@operation
def delete_bucket_cors(ctx, bucket, **_):
    row = load_bucket(ctx, bucket)
    access.authorize(ctx, "s3:PutBucketCORS", row)
    row.cors = None
    return {}
