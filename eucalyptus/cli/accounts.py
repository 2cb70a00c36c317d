"""euare-accountcreate, euare-accountlist, euare-accountdel: Eucalyptus' accounts (cloud admin).

Records::

    euare-accountcreate -a NAME [-k]   <name>\\t<id>   (-k: then the admin's key id, its secret)
    euare-accountlist                  <name>\\t<id>   per account

``-k`` creates an access key for the new account's ``admin`` user with Eucalyptus' wire
parameter ``DelegateAccount`` (the cloud admin acting inside another account). The key is then
checked by asking the cloud who it belongs to; a key that landed anywhere but the new account
is deleted again and the command fails.
"""
from __future__ import annotations

import argparse
from typing import Any, Iterable

from botocore.credentials import Credentials

from eucalyptus.cli.command import Command, Record, arg, listing
from eucalyptus.cli.connection import CommandError, Connection
from eucalyptus.cli.users import key_records

ACCOUNT_ADMIN = "admin"


def delegate_to(client: Any, operation: str, account_name: str) -> None:
    """Make ``client``'s ``operation`` requests carry ``DelegateAccount=account_name``."""
    def add_delegate(params: dict, **_: Any) -> None:
        body = params.get("body")
        if isinstance(body, dict):
            body["DelegateAccount"] = account_name
    client.meta.events.register(f"before-call.iam.{operation}", add_delegate)


def account_of_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def create_admin_key(connection: Connection, client: Any, account: dict) -> dict:
    """An access key for the ``admin`` user of ``account``, verified to belong to it."""
    delegated = connection.client()
    delegate_to(delegated, "CreateAccessKey", account["AccountName"])
    key = delegated.create_access_key(UserName=ACCOUNT_ADMIN)["AccessKey"]
    as_new_key = connection.client(Credentials(key["AccessKeyId"], key["SecretAccessKey"]))
    owner = account_of_arn(as_new_key.get_user()["User"]["Arn"])
    if owner != account["AccountId"]:
        client.delete_access_key(UserName=key.get("UserName", ACCOUNT_ADMIN),
                                 AccessKeyId=key["AccessKeyId"])
        raise CommandError(
            f"account {account['AccountName']} ({account['AccountId']}) was created, but the "
            f"cloud made its admin key in account {owner or '?'} (DelegateAccount not honoured); "
            f"that key was deleted")
    return key


def _create(connection: Connection, client: Any, args: argparse.Namespace) -> dict:
    response = client.create_account(AccountName=args.AccountName)
    if args.create_accesskey:
        response["AccessKey"] = create_admin_key(connection, client, response["Account"])
    return response


def created_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    account = response["Account"]
    yield account.get("AccountName"), account.get("AccountId")
    yield from key_records(response)


account_name = arg("-a", "--account-name", param="AccountName", required=True, metavar="NAME",
                   help="name of the account")

account_create = Command(
    name="euare-accountcreate",
    service="iam",
    help="Create an account (cloud administrators only).",
    args=[account_name,
          arg("-k", "--create-accesskey", action="store_true",
              help="also create an access key for the account's admin user and print it")],
    run=_create,
    records=created_records,
)

account_list = Command(
    name="euare-accountlist",
    service="iam",
    operation="ListAccounts",
    help="List the cloud's accounts with their ids (cloud administrators only).",
    records=listing("Accounts", "AccountName", "AccountId"),
    json_output=True,
)

account_delete = Command(
    name="euare-accountdel",
    service="iam",
    operation="DeleteAccount",
    help="Delete an account (cloud administrators only).",
    args=[account_name,
          arg("-r", "--recursive", param="Recursive", action="store_const", const=True,
              help="delete the account's users, groups and policies too")],
)
