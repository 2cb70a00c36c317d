"""The ACL model: canned ACLs, grant headers, AccessControlPolicy bodies, storage, effects."""
from __future__ import annotations

import pytest

from eucalyptus.errors import AccessDenied, ServiceError
from eucalyptus.services.s3 import acl
from eucalyptus.services.s3.canonical import CANONICAL_ID, Party, canonical_id

OWNER = Party("111111111111", canonical_id("111111111111"), "acme")
OTHER = Party("222222222222", canonical_id("222222222222"), "globex")
ADMIN = Party("333333333333", canonical_id("333333333333"), "eucalyptus")
KNOWN = {p.canonical_id: p for p in (OWNER, OTHER, ADMIN)}
resolve = KNOWN.get


def perms(a: acl.Acl, party: Party | None) -> set[str]:
    return acl.permissions(a, party.canonical_id if party else None, party is not None)


def test_canonical_ids_are_stable_hex_and_distinct():
    assert canonical_id("111111111111") == OWNER.canonical_id
    assert CANONICAL_ID.fullmatch(OWNER.canonical_id)
    assert OWNER.canonical_id != OTHER.canonical_id


@pytest.mark.parametrize("name, other, anonymous", [
    ("private", set(), set()),
    ("public-read", {"READ"}, {"READ"}),
    ("public-read-write", {"READ", "WRITE"}, {"READ", "WRITE"}),
    ("authenticated-read", {"READ"}, set()),
    ("bucket-owner-read", {"READ"}, set()),
    ("bucket-owner-full-control", set(acl.PERMISSIONS), set()),
    ("log-delivery-write", set(), set()),
    ("aws-exec-read", set(), set()),
])
def test_canned_acls(name, other, anonymous):
    made = acl.canned(name, OWNER, bucket_owner=OTHER, exec_reader=ADMIN)
    assert perms(made, OWNER) == set(acl.PERMISSIONS)
    assert perms(made, OTHER) == other
    assert perms(made, None) == anonymous
    assert made.is_public() == bool(anonymous or name == "authenticated-read")


def test_canned_special_grantees():
    exec_read = acl.canned("aws-exec-read", OWNER, exec_reader=ADMIN)
    assert perms(exec_read, ADMIN) == {"READ"}
    log = acl.canned("log-delivery-write", OWNER)
    assert {(g.group, g.permission) for g in log.grants if g.group} == {
        (acl.LOG_DELIVERY, "WRITE"), (acl.LOG_DELIVERY, "READ_ACP")}
    # the bucket owner is not granted twice when it owns the object too
    assert len(acl.canned("bucket-owner-full-control", OWNER, bucket_owner=OWNER).grants) == 1


def test_unknown_canned_acl():
    with pytest.raises(ServiceError) as info:
        acl.canned("world-writable", OWNER)
    assert info.value.code == "InvalidArgument"


def test_grant_headers():
    made = acl.from_request({"GrantRead": f'id="{OTHER.canonical_id}", uri="{acl.ALL_USERS}"',
                             "GrantWriteACP": f"id={OTHER.canonical_id}"}, OWNER, resolve)
    assert perms(made, OTHER) == {"READ", "WRITE_ACP"}
    assert perms(made, None) == {"READ"}
    # grant headers replace the owner's FULL_CONTROL; the owner keeps the ACP permissions
    assert perms(made, OWNER) == {"READ", "READ_ACP", "WRITE_ACP"}   # AllUsers' READ
    assert made.grants[0].display_name == "globex"


@pytest.mark.parametrize("value, code", [
    ('emailAddress="x@example.com"', "UnresolvableGrantByEmailAddress"),
    (f'id="{"0" * 64}"', "InvalidArgument"),
    ('uri="http://acs.amazonaws.com/groups/global/Nobody"', "InvalidArgument"),
    ("garbage", "InvalidArgument"),
])
def test_bad_grant_headers(value, code):
    with pytest.raises(ServiceError) as info:
        acl.from_request({"grant_read": value}, OWNER, resolve)
    assert info.value.code == code


def test_canned_and_headers_conflict():
    with pytest.raises(ServiceError) as info:
        acl.from_request({"ACL": "private", "GrantRead": f'uri="{acl.ALL_USERS}"'}, OWNER,
                         resolve)
    assert info.value.code == "InvalidRequest"
    with pytest.raises(ServiceError) as info:
        acl.from_request({"ACL": "private", "AccessControlPolicy": {}}, OWNER, resolve,
                         body_allowed=True)
    assert info.value.code == "UnexpectedContent"
    assert acl.from_request({}, OWNER, resolve) is None


def body(*grants, owner=OWNER.canonical_id):
    return {"Owner": {"ID": owner}, "Grants": list(grants)}


def test_policy_document_round_trip():
    doc = body({"Grantee": {"Type": "CanonicalUser", "ID": OTHER.canonical_id},
                "Permission": "WRITE"},
               {"Grantee": {"Type": "Group", "URI": acl.AUTHENTICATED_USERS},
                "Permission": "READ"})
    made = acl.from_request({"AccessControlPolicy": doc}, OWNER, resolve, body_allowed=True)
    assert perms(made, OTHER) == {"READ", "WRITE"}
    assert perms(made, None) == set()
    out = made.to_output()
    assert out["Owner"] == {"ID": OWNER.canonical_id, "DisplayName": "acme"}
    assert out["Grants"][0] == {"Grantee": {"Type": "CanonicalUser", "ID": OTHER.canonical_id,
                                            "DisplayName": "globex"}, "Permission": "WRITE"}
    stored = acl.Acl.from_json(made.to_json(), OWNER)
    assert stored == made


@pytest.mark.parametrize("doc, code", [
    ({"Grants": []}, "MalformedACLError"),
    (body({"Grantee": {"Type": "Group", "URI": acl.ALL_USERS}, "Permission": "OWN"}),
     "MalformedACLError"),
    (body({"Grantee": {"ID": OTHER.canonical_id}, "Permission": "READ"}), "MalformedACLError"),
    (body({"Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "a@b.c"},
           "Permission": "READ"}), "UnresolvableGrantByEmailAddress"),
    (body({"Grantee": {"Type": "CanonicalUser", "ID": "ab" * 32}, "Permission": "READ"}),
     "InvalidArgument"),
])
def test_bad_policy_documents(doc, code):
    with pytest.raises(ServiceError) as info:
        acl.from_policy_document(doc, OWNER, resolve)
    assert info.value.code == code


def test_policy_document_cannot_change_owner():
    with pytest.raises(AccessDenied):
        acl.from_policy_document(body(owner=OTHER.canonical_id), OWNER, resolve)


def test_missing_or_rotten_stored_acl_is_private():
    for text in (None, "", "{not json", "[1]", '{"grants": [{"nope": 1}]}'):
        stored = acl.Acl.from_json(text, OWNER)
        assert perms(stored, OWNER) == set(acl.PERMISSIONS)
        assert perms(stored, OTHER) == set() and not stored.is_public()
