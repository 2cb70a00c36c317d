"""STS: GetCallerIdentity and GetSessionToken."""
import datetime as dt

import pytest

from eucalyptus.db.schema import AccessKey, utcnow
from eucalyptus.errors import AccessDenied, ValidationError
from eucalyptus.services.iam import access_keys, users
from eucalyptus.services.iam.identity import lookup_credentials
from eucalyptus.services.sts import tokens


@pytest.fixture
def root(root, world):
    world.call(root, users.create_user, user_name="bob", path="/eng/")
    return root


def sts(world, principal, handler, **kw):
    return world.call(principal, handler, service="sts", **kw)


def test_caller_identity(world, root):
    me = sts(world, root, tokens.get_caller_identity)
    assert me == {"UserId": root.account_id, "Account": root.account_id,
                  "Arn": f"arn:aws:iam::{root.account_id}:root"}
    bob = world.user("alpha", "bob")
    me = sts(world, bob, tokens.get_caller_identity)
    assert me == {"UserId": bob.user_id, "Account": root.account_id,
                  "Arn": f"arn:aws:iam::{root.account_id}:user/eng/bob"}
    admin = sts(world, world.admin, tokens.get_caller_identity)
    assert admin["Arn"] == f"arn:aws:iam::{world.admin.account_id}:root"


def test_session_token_authenticates_as_the_user_until_it_expires(world, root):
    bob = world.user("alpha", "bob")
    before = dt.datetime.now(dt.timezone.utc)
    creds = sts(world, bob, tokens.get_session_token)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert len(creds["SecretAccessKey"]) == 40 and creds["SessionToken"]
    lifetime = creds["Expiration"] - before
    assert dt.timedelta(seconds=43190) < lifetime <= dt.timedelta(seconds=43210)
    with world.session() as s:
        cred = lookup_credentials(s, creds["AccessKeyId"])
    assert cred.active and cred.secret == creds["SecretAccessKey"]
    assert cred.session_token == creds["SessionToken"]
    assert cred.expires_at == creds["Expiration"].replace(tzinfo=None)
    assert cred.expires_at > utcnow()
    assert cred.principal.user_id == bob.user_id and cred.principal.arn == bob.arn
    temp = cred.principal
    assert sts(world, temp, tokens.get_caller_identity)["Arn"] == bob.arn
    # temporary keys are not long-term keys: not listed, not counted
    listed = world.call(bob, access_keys.list_access_keys)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [bob.access_key_id]
    world.call(bob, access_keys.create_access_key)


def test_no_session_tokens_from_session_credentials(world, root):
    bob = world.user("alpha", "bob")
    creds = sts(world, bob, tokens.get_session_token)["Credentials"]
    temp = world.principal_of(creds["AccessKeyId"])
    with pytest.raises(AccessDenied) as err:
        sts(world, temp, tokens.get_session_token)
    assert err.value.status == 403


@pytest.mark.parametrize("seconds", [899, 129601, "soon"])
def test_duration_bounds(world, root, seconds):
    with pytest.raises(ValidationError):
        sts(world, root, tokens.get_session_token, duration_seconds=seconds)


def test_duration_is_honoured_and_capped_for_roots(world, root):
    bob = world.user("alpha", "bob")
    now = dt.datetime.now(dt.timezone.utc)
    short = sts(world, bob, tokens.get_session_token, duration_seconds=900)["Credentials"]
    assert abs((short["Expiration"] - now).total_seconds() - 900) < 10
    long = sts(world, bob, tokens.get_session_token, duration_seconds=129600)["Credentials"]
    assert abs((long["Expiration"] - now).total_seconds() - 129600) < 10
    rooted = sts(world, root, tokens.get_session_token, duration_seconds=7200)["Credentials"]
    assert abs((rooted["Expiration"] - now).total_seconds() - 3600) < 10


def test_expired_tokens_report_expiry_and_are_purged(world, root):
    bob = world.user("alpha", "bob")
    old = sts(world, bob, tokens.get_session_token, duration_seconds=900)["Credentials"]
    with world.session() as s:
        s.get(AccessKey, old["AccessKeyId"]).expires_at = utcnow() - dt.timedelta(seconds=1)
    with world.session() as s:
        cred = lookup_credentials(s, old["AccessKeyId"])
    assert cred.expires_at < utcnow()          # the gateway answers ExpiredToken for this
    sts(world, bob, tokens.get_session_token)
    with world.session() as s:
        assert lookup_credentials(s, old["AccessKeyId"]) is None


def test_user_with_only_temporary_keys_can_be_deleted(world, root):
    bob = world.user("alpha", "bob")
    creds = sts(world, bob, tokens.get_session_token)["Credentials"]
    world.call(root, access_keys.delete_access_key, user_name="bob",
               access_key_id=bob.access_key_id)
    world.call(root, users.delete_user, user_name="bob")
    with world.session() as s:
        assert lookup_credentials(s, creds["AccessKeyId"]) is None
