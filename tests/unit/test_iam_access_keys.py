"""Long-term access keys and their effect on credential lookup."""
import pytest

from eucalyptus.errors import LimitExceeded, NotFound, ValidationError
from eucalyptus.services.iam import access_keys, users
from eucalyptus.services.iam.identity import lookup_credentials, record_key_use


@pytest.fixture
def root(root, world):
    world.call(root, users.create_user, user_name="bob")
    return root


def test_create_list_and_lookup(world, root):
    key = world.call(root, access_keys.create_access_key, user_name="bob")["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    assert len(key["SecretAccessKey"]) == 40 and key["Status"] == "Active"
    listed = world.call(root, access_keys.list_access_keys, user_name="bob")["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"], k["UserName"]) for k in listed] == \
        [(key["AccessKeyId"], "Active", "bob")]
    assert "SecretAccessKey" not in listed[0]
    with world.session() as s:
        cred = lookup_credentials(s, key["AccessKeyId"])
    assert cred.secret == key["SecretAccessKey"] and cred.active
    assert cred.session_token is None and cred.expires_at is None
    p = cred.principal
    assert (p.user_name, p.account_id, p.is_root, p.is_cloud_admin) == \
        ("bob", root.account_id, False, False)
    assert p.arn == f"arn:aws:iam::{root.account_id}:user/bob"
    assert p.access_key_id == key["AccessKeyId"]


def test_without_user_name_acts_on_the_caller(world, root):
    bob = world.user("alpha", "bob")           # gives bob his first key
    key = world.call(bob, access_keys.create_access_key)["AccessKey"]
    assert key["UserName"] == "bob"
    ids = {k["AccessKeyId"] for k in
           world.call(bob, access_keys.list_access_keys)["AccessKeyMetadata"]}
    assert ids == {bob.access_key_id, key["AccessKeyId"]}


def test_two_keys_at_most(world, root):
    world.call(root, access_keys.create_access_key, user_name="bob")
    world.call(root, access_keys.create_access_key, user_name="bob")
    with pytest.raises(LimitExceeded) as err:
        world.call(root, access_keys.create_access_key, user_name="bob")
    assert (err.value.code, err.value.status) == ("LimitExceeded", 409)


def test_update_status_and_delete(world, root):
    key = world.call(root, access_keys.create_access_key, user_name="bob")["AccessKey"]
    kid = key["AccessKeyId"]
    world.call(root, access_keys.update_access_key, user_name="bob", access_key_id=kid,
               status="Inactive")
    listed = world.call(root, access_keys.list_access_keys, user_name="bob")["AccessKeyMetadata"]
    assert listed[0]["Status"] == "Inactive"
    with world.session() as s:
        assert lookup_credentials(s, kid).active is False
    with pytest.raises(ValidationError):
        world.call(root, access_keys.update_access_key, user_name="bob", access_key_id=kid,
                   status="Sleeping")
    world.call(root, access_keys.update_access_key, user_name="bob", access_key_id=kid,
               status="Active")
    with world.session() as s:
        assert lookup_credentials(s, kid).active is True
    # a key must belong to the user named
    with pytest.raises(NotFound):
        world.call(root, access_keys.delete_access_key, user_name="admin", access_key_id=kid)
    world.call(root, access_keys.delete_access_key, user_name="bob", access_key_id=kid)
    with world.session() as s:
        assert lookup_credentials(s, kid) is None
    with pytest.raises(NotFound):
        world.call(root, access_keys.delete_access_key, user_name="bob", access_key_id=kid)


def test_last_used(world, root):
    kid = world.call(root, access_keys.create_access_key, user_name="bob")["AccessKey"]["AccessKeyId"]
    fresh = world.call(root, access_keys.get_access_key_last_used, access_key_id=kid)
    assert fresh == {"UserName": "bob",
                     "AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}}
    with world.session() as s:
        record_key_use(s, kid, "ec2", "eucalyptus")
    used = world.call(root, access_keys.get_access_key_last_used, access_key_id=kid)
    last = used["AccessKeyLastUsed"]
    assert (last["ServiceName"], last["Region"]) == ("ec2", "eucalyptus")
    assert last["LastUsedDate"].tzinfo is not None


def test_keys_of_other_accounts_are_invisible(world, root):
    kid = world.call(root, access_keys.create_access_key, user_name="bob")["AccessKey"]["AccessKeyId"]
    other = world.account("beta")
    world.call(other, users.create_user, user_name="bob")
    for fn, kw in [(access_keys.delete_access_key, {"user_name": "bob"}),
                   (access_keys.update_access_key, {"user_name": "bob", "status": "Inactive"}),
                   (access_keys.delete_access_key, {}),
                   (access_keys.get_access_key_last_used, {})]:
        with pytest.raises(NotFound):
            world.call(other, fn, access_key_id=kid, **kw)
    assert world.call(other, access_keys.list_access_keys,
                      user_name="bob")["AccessKeyMetadata"] == []
    with world.session() as s:
        assert lookup_credentials(s, kid).active
