"""Identity end to end: accounts, users, keys, policies and STS through boto3 and the AWS CLI."""
from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from eucalyptus.aws import specs

ALLOW_LIST_USERS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["iam:List*", "iam:GetUser"], "Resource": "*"}]}
DENY_LIST_USERS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*"}]}


def client(cloud, service, key, secret, token=None):
    session = boto3.Session(botocore_session=specs.botocore_session_with_overlays())
    return session.client(service, endpoint_url=cloud.endpoint(service),
                          region_name=cloud.env["AWS_DEFAULT_REGION"], aws_access_key_id=key,
                          aws_secret_access_key=secret, aws_session_token=token)


def admin(cloud, service="iam"):
    return client(cloud, service, cloud.env["AWS_ACCESS_KEY_ID"], cloud.env["AWS_SECRET_ACCESS_KEY"])


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value.response["Error"]["Code"]


def eventually_denied(call, code: str) -> None:
    """Keys stop working at once: the very next request is refused."""
    assert code_of(call) == code


def account_root(cloud, tmp_path: Path, name: str):
    """Create account ``name`` as the cloud admin and fetch its admin's credentials zip with
    the `eucalyptus credentials` command, as an operator would."""
    admin(cloud).create_account(AccountName=name)
    target = tmp_path / f"{name}.zip"
    done = subprocess.run([str(Path(sys.executable).with_name("eucalyptus")), "credentials",
                           "--data-dir", str(cloud.data_dir), "--account", name, "--user", "admin",
                           "-o", str(target)], capture_output=True, text=True, timeout=60,
                          env=cloud.process_env)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(target) as bundle:
        eucarc = bundle.read("eucarc").decode()
    values = dict(line.split("export ", 1)[1].split("=", 1) for line in eucarc.splitlines()
                  if line.startswith("export "))
    values = {k: v.strip("'\"") for k, v in values.items()}
    return values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"]


@pytest.fixture
def two_accounts(cloud, tmp_path):
    a, b = f"acme{uuid.uuid4().hex[:8]}", f"globex{uuid.uuid4().hex[:8]}"
    yield (a, account_root(cloud, tmp_path, a)), (b, account_root(cloud, tmp_path, b))
    for name in (a, b):
        admin(cloud).delete_account(AccountName=name, Recursive=True)


def test_accounts_admin_only(cloud, two_accounts):
    (a, (key, secret)), (b, _) = two_accounts
    names = [acct["AccountName"] for acct in admin(cloud).list_accounts()["Accounts"]]
    assert {"eucalyptus", a, b} <= set(names)
    root = client(cloud, "iam", key, secret)
    assert code_of(root.create_account, AccountName="sneaky") == "AccessDenied"
    assert code_of(root.list_accounts) == "AccessDenied"
    assert code_of(admin(cloud).delete_account, AccountName="eucalyptus") in (
        "DeleteConflict", "AccessDenied")


def test_users_groups_keys_and_isolation(cloud, two_accounts):
    (a, (key_a, secret_a)), (b, (key_b, secret_b)) = two_accounts
    iam_a, iam_b = client(cloud, "iam", key_a, secret_a), client(cloud, "iam", key_b, secret_b)
    iam_a.create_user(UserName="bob", Path="/dev/")
    assert code_of(iam_a.create_user, UserName="bob") == "EntityAlreadyExists"
    iam_a.create_group(GroupName="devs")
    iam_a.add_user_to_group(GroupName="devs", UserName="bob")
    assert [u["UserName"] for u in iam_a.get_group(GroupName="devs")["Users"]] == ["bob"]
    # account B sees none of it and cannot touch it
    assert "bob" not in [u["UserName"] for u in iam_b.list_users()["Users"]]
    assert code_of(iam_b.get_user, UserName="bob") == "NoSuchEntity"
    assert code_of(iam_b.delete_user, UserName="bob") == "NoSuchEntity"
    assert code_of(iam_b.get_group, GroupName="devs") == "NoSuchEntity"
    # a user with keys cannot be deleted until they are gone
    iam_a.create_access_key(UserName="bob")
    assert code_of(iam_a.delete_user, UserName="bob") == "DeleteConflict"
    sts_b = client(cloud, "sts", key_b, secret_b)
    assert sts_b.get_caller_identity()["Arn"].endswith(":root")


def test_policies_allow_deny_and_key_lifecycle(cloud, two_accounts):
    (a, (key_a, secret_a)), _ = two_accounts
    root = client(cloud, "iam", key_a, secret_a)
    root.create_user(UserName="carol")
    made = root.create_access_key(UserName="carol")["AccessKey"]
    carol = client(cloud, "iam", made["AccessKeyId"], made["SecretAccessKey"])
    # implicit deny inside the account
    assert code_of(carol.list_users) == "AccessDenied"
    root.put_user_policy(UserName="carol", PolicyName="read",
                         PolicyDocument=json.dumps(ALLOW_LIST_USERS))
    assert "carol" in [u["UserName"] for u in carol.list_users()["Users"]]
    # an explicit deny from a managed policy on her group wins over the allow
    arn = root.create_policy(PolicyName="no-list",
                             PolicyDocument=json.dumps(DENY_LIST_USERS))["Policy"]["Arn"]
    root.create_group(GroupName="restricted")
    root.add_user_to_group(GroupName="restricted", UserName="carol")
    root.attach_group_policy(GroupName="restricted", PolicyArn=arn)
    assert code_of(carol.list_users) == "AccessDenied"
    assert carol.list_groups()["Groups"]   # iam:List* still allowed
    root.detach_group_policy(GroupName="restricted", PolicyArn=arn)
    assert carol.list_users()["Users"]
    # EC2 answers with its own code for the same refusal
    ec2 = client(cloud, "ec2", made["AccessKeyId"], made["SecretAccessKey"])
    assert code_of(ec2.describe_regions) == "UnauthorizedOperation"
    # inactive keys stop at once, come back when re-activated; deleted keys are gone
    root.update_access_key(UserName="carol", AccessKeyId=made["AccessKeyId"], Status="Inactive")
    eventually_denied(carol.list_users, "InvalidClientTokenId")
    root.update_access_key(UserName="carol", AccessKeyId=made["AccessKeyId"], Status="Active")
    assert carol.list_users()["Users"]
    root.delete_access_key(UserName="carol", AccessKeyId=made["AccessKeyId"])
    eventually_denied(carol.list_users, "InvalidClientTokenId")
    eventually_denied(ec2.describe_regions, "AuthFailure")


def test_session_token_authenticates_and_expires(cloud, two_accounts):
    (a, (key_a, secret_a)), _ = two_accounts
    root = client(cloud, "iam", key_a, secret_a)
    root.create_user(UserName="dave")
    root.put_user_policy(UserName="dave", PolicyName="read",
                         PolicyDocument=json.dumps(ALLOW_LIST_USERS))
    made = root.create_access_key(UserName="dave")["AccessKey"]
    sts = client(cloud, "sts", made["AccessKeyId"], made["SecretAccessKey"])
    temp = sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert temp["AccessKeyId"].startswith("ASIA")
    as_temp = client(cloud, "sts", temp["AccessKeyId"], temp["SecretAccessKey"],
                     temp["SessionToken"])
    assert as_temp.get_caller_identity()["Arn"].endswith(":user/dave")
    iam_temp = client(cloud, "iam", temp["AccessKeyId"], temp["SecretAccessKey"],
                      temp["SessionToken"])
    assert iam_temp.list_users()["Users"]
    without_token = client(cloud, "sts", temp["AccessKeyId"], temp["SecretAccessKey"])
    assert code_of(without_token.get_caller_identity) == "InvalidClientTokenId"
    # let it expire: move its expiry into the past in the cloud's database
    from sqlalchemy import update
    from eucalyptus.db.engine import Database
    from eucalyptus.db.schema import AccessKey
    db = Database(cloud.database_url, migrate=False)
    with db.session() as s:
        s.execute(update(AccessKey).where(AccessKey.id == temp["AccessKeyId"])
                  .values(expires_at=dt.datetime.utcnow() - dt.timedelta(seconds=1)))
    db.dispose()
    assert code_of(as_temp.get_caller_identity) == "ExpiredToken"


def test_aws_cli_iam(cloud):
    name = f"cli{uuid.uuid4().hex[:8]}"
    made = cloud.aws("iam", "create-user", "--user-name", name, "--output", "json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["User"]["UserName"] == name
    listed = cloud.aws("iam", "list-users", "--output", "json")
    assert name in [u["UserName"] for u in json.loads(listed.stdout)["Users"]]
    missing = cloud.aws("iam", "get-user", "--user-name", name + "x")
    assert missing.returncode != 0 and "NoSuchEntity" in missing.stderr
    assert cloud.aws("iam", "delete-user", "--user-name", name).returncode == 0
