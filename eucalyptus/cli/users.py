"""euare-usercreate, euare-userlistbypath, euare-userdel, euare-usergetattributes.

Records::

    euare-usercreate -u NAME [-p PATH] [-k] [-v]   -v: the ARN, the id; -k: key id, secret
    euare-userlistbypath [-p PREFIX]               one ARN per line
    euare-usergetattributes [-u NAME]              the ARN, the id (no -u: the caller)

``euare-userdel -r`` first deletes the user's access keys and inline policies, detaches its
managed policies and takes it out of its groups, then deletes it.

The argument and record pieces the other IAM command families share live here too.
"""
from __future__ import annotations

import argparse
from typing import Any, Iterable

from eucalyptus.cli.command import Arg, Command, Record, arg, call, emptied_first, listing
from eucalyptus.cli.connection import Connection

PATH_HELP = "path of the new entity (default /)"


def user_name_arg(required: bool = True) -> Arg:
    return arg("-u", "--user-name", param="UserName", required=required, metavar="USER",
               help="name of the user" if required else "name of the user (default: the caller)")


def path_arg() -> Arg:
    return arg("-p", "--path", param="Path", metavar="PATH", help=PATH_HELP)


def prefix_arg(plural: str) -> Arg:
    return arg("-p", "--prefix", param="PathPrefix", metavar="PREFIX",
               help=f"only {plural} whose path starts with PREFIX")


def key_records(response: dict) -> Iterable[Record]:
    """A new access key as two lines: its id, then its secret (none without ``AccessKey``)."""
    if "AccessKey" in response:
        yield response["AccessKey"]["AccessKeyId"]
        yield response["AccessKey"]["SecretAccessKey"]


def arn_and_id(entity: dict, id_member: str) -> Iterable[Record]:
    """An IAM entity as two lines: its ARN, then its id (``UserId``, ``GroupId``)."""
    yield entity["Arn"]
    yield entity[id_member]


def _create(connection: Connection, client: Any, args: argparse.Namespace) -> dict:
    response = call(client, "CreateUser", **user_create.params(args))
    if args.create_accesskey:
        response["AccessKey"] = client.create_access_key(UserName=args.UserName)["AccessKey"]
    return response


def created_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    if args.verbose:
        yield from arn_and_id(response["User"], "UserId")
    yield from key_records(response)


def empty_user(client: Any, user_name: str) -> None:
    """Remove what keeps IAM from deleting a user: keys, policies, group memberships."""
    for key in call(client, "ListAccessKeys", UserName=user_name).get("AccessKeyMetadata", []):
        client.delete_access_key(UserName=user_name, AccessKeyId=key["AccessKeyId"])
    for name in call(client, "ListUserPolicies", UserName=user_name).get("PolicyNames", []):
        client.delete_user_policy(UserName=user_name, PolicyName=name)
    attached = call(client, "ListAttachedUserPolicies", UserName=user_name)
    for policy in attached.get("AttachedPolicies", []):
        client.detach_user_policy(UserName=user_name, PolicyArn=policy["PolicyArn"])
    for group in call(client, "ListGroupsForUser", UserName=user_name).get("Groups", []):
        client.remove_user_from_group(UserName=user_name, GroupName=group["GroupName"])


user_create = Command(
    name="euare-usercreate",
    service="iam",
    help="Create a user.",
    args=[user_name_arg(), path_arg(),
          arg("-k", "--create-accesskey", action="store_true",
              help="also create an access key for the user and print it"),
          arg("-v", "--verbose", action="store_true", help="print the new user's ARN and id")],
    run=_create,
    records=created_records,
)

user_list_by_path = Command(
    name="euare-userlistbypath",
    service="iam",
    operation="ListUsers",
    help="List the ARNs of the account's users, optionally under a path prefix.",
    args=[prefix_arg("users")],
    records=listing("Users", "Arn"),
    json_output=True,
)

user_delete = Command(
    name="euare-userdel",
    service="iam",
    help="Delete a user.",
    args=[user_name_arg(),
          arg("-r", "--recursive", action="store_true",
              help="first delete its keys and policies and leave its groups")],
    run=emptied_first("DeleteUser", "UserName", empty_user),
)

user_get_attributes = Command(
    name="euare-usergetattributes",
    service="iam",
    operation="GetUser",
    help="Show a user's ARN and id.",
    args=[user_name_arg(required=False)],
    records=lambda response, args: arn_and_id(response["User"], "UserId"),
    json_output=True,
)
