"""CORS configuration checks and the matching of preflight and actual requests."""
from __future__ import annotations

import pytest

from eucalyptus.errors import ServiceError
from eucalyptus.services.s3 import cors

CONFIG = {"CORSRules": [
    {"AllowedOrigins": ["http://www.example.com"], "AllowedMethods": ["PUT", "POST"],
     "AllowedHeaders": ["x-amz-*", "content-type"], "ExposeHeaders": ["ETag", "x-amz-request-id"],
     "MaxAgeSeconds": 300, "ID": "writers"},
    {"AllowedOrigins": ["https://*.example.org"], "AllowedMethods": ["GET", "HEAD"]},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]},
]}


def stored(config=CONFIG) -> str:
    return cors.dump(cors.validate(config))


def error_of(fn, *args) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        fn(*args)
    return info.value


@pytest.mark.parametrize("config, code", [
    ({}, "MalformedXML"),
    ({"CORSRules": []}, "MalformedXML"),
    ({"CORSRules": [{"AllowedOrigins": ["*"]}]}, "MalformedXML"),
    ({"CORSRules": [{"AllowedMethods": ["GET"]}]}, "MalformedXML"),
    ({"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}] * 101}, "MalformedXML"),
    ({"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]}, "InvalidRequest"),
    ({"CORSRules": [{"AllowedOrigins": ["http://*.*.com"], "AllowedMethods": ["GET"]}]},
     "InvalidRequest"),
    ({"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"],
                     "AllowedHeaders": ["x-*-*"]}]}, "InvalidRequest"),
    ({"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"],
                     "ExposeHeaders": ["*"]}]}, "InvalidRequest"),
    ({"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"],
                     "MaxAgeSeconds": -1}]}, "InvalidArgument"),
])
def test_bad_configurations(config, code):
    err = error_of(cors.validate, config)
    assert (err.code, err.status) == (code, 400)


def test_unsupported_method_message():
    err = error_of(cors.validate, {"CORSRules": [{"AllowedOrigins": ["*"],
                                                  "AllowedMethods": ["GET", "PATCH"]}]})
    assert err.message.endswith("Unsupported method is PATCH")


def test_round_trip_keeps_rules():
    rules = cors.load(stored())
    assert [r.as_dict() for r in rules] == CONFIG["CORSRules"]
    assert cors.load(None) == []


@pytest.mark.parametrize("pattern, value, ignore_case, expected", [
    ("http://a.com", "http://a.com", False, True),
    ("http://a.com", "http://A.com", False, False),
    ("http://*.a.com", "http://x.y.a.com", False, True),
    ("http://*.a.com", "http://a.com", False, False),
    ("*", "anything", False, True),
    ("x-amz-*", "X-Amz-Date", True, True),
    ("ab*ba", "aba", False, False),
])
def test_wildcard_match(pattern, value, ignore_case, expected):
    assert cors.wildcard_match(pattern, value, ignore_case) is expected


def test_preflight_allowed_gives_rule_headers():
    headers = cors.preflight(stored(), {
        "Origin": "http://www.example.com", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "x-amz-date, Content-Type"})
    assert headers["Access-Control-Allow-Origin"] == "http://www.example.com"
    assert headers["Access-Control-Allow-Methods"] == "PUT, POST"
    assert headers["Access-Control-Allow-Headers"] == "x-amz-date, Content-Type"
    assert headers["Access-Control-Max-Age"] == "300"
    assert headers["Access-Control-Expose-Headers"] == "ETag, x-amz-request-id"
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in headers["Vary"]


def test_preflight_first_matching_rule_and_star_origin():
    text = stored()
    sub = cors.preflight(text, {"Origin": "https://app.example.org",
                                "Access-Control-Request-Method": "HEAD"})
    assert sub["Access-Control-Allow-Methods"] == "GET, HEAD"
    anyone = cors.preflight(text, {"Origin": "http://evil.test",
                                   "Access-Control-Request-Method": "GET"})
    assert anyone["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in anyone


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.test", "Access-Control-Request-Method": "PUT"},
    {"Origin": "http://www.example.com", "Access-Control-Request-Method": "DELETE"},
    {"Origin": "http://www.example.com", "Access-Control-Request-Method": "PUT",
     "Access-Control-Request-Headers": "authorization"},
])
def test_preflight_denied(headers):
    err = error_of(cors.preflight, stored(), headers)
    assert (err.status, err.code) == (403, "AccessForbidden")
    assert err.message.startswith("CORSResponse: This CORS request is not allowed")


def test_preflight_without_configuration_or_required_headers():
    err = error_of(cors.preflight, None, {"Origin": "http://a", "Access-Control-Request-Method":
                                          "GET"})
    assert (err.status, err.message) == (403, cors.NOT_ENABLED)
    assert error_of(cors.preflight, stored(), {"Access-Control-Request-Method": "GET"}).code \
        == "BadRequest"
    err = error_of(cors.preflight, stored(), {"Origin": "http://a",
                                              "Access-Control-Request-Method": "PATCH"})
    assert (err.status, err.code) == (400, "BadRequest")


def test_actual_request_headers():
    text = stored()
    got = cors.response_headers(text, "https://app.example.org", "GET")
    assert got["Access-Control-Allow-Origin"] == "https://app.example.org"
    assert cors.response_headers(text, "http://www.example.com", "DELETE") == {}
    assert cors.response_headers(text, None, "GET") == {}
    assert cors.response_headers(None, "http://a", "GET") == {}


def test_rule_missing_required_element_is_malformed_xml_on_the_wire():
    from eucalyptus.aws import specs
    from eucalyptus.aws.http import HttpRequest
    from eucalyptus.aws.protocol import restxml
    body = (b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule>"
            b"</CORSConfiguration>")
    request = HttpRequest.from_url("PUT", "/bucket?cors", {"Host": "h"}, body)
    err = error_of(restxml.parse, request, specs.service_model("s3"))
    assert (err.code, err.status) == ("MalformedXML", 400)
