"""euare-groupcreate, -grouplistbypath, -groupdel, -groupadduser, -groupremoveuser, -grouplistusers.

Records::

    euare-groupcreate -g NAME [-p PATH] [-v]   -v: the ARN, the id
    euare-grouplistbypath [-p PREFIX]          one ARN per line
    euare-grouplistusers -g NAME               one member's ARN per line

``euare-groupdel -r`` first takes every member out, deletes the inline policies and detaches
the managed ones, then deletes the group.
"""
from __future__ import annotations

import argparse
from typing import Any, Iterable

from eucalyptus.cli.command import Command, Record, arg, call, emptied_first, listing
from eucalyptus.cli.users import arn_and_id, path_arg, prefix_arg, user_name_arg

group_name = arg("-g", "--group-name", param="GroupName", required=True, metavar="GROUP",
                 help="name of the group")


def created_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    if args.verbose:
        yield from arn_and_id(response["Group"], "GroupId")


def empty_group(client: Any, name: str) -> None:
    """Remove what keeps IAM from deleting a group: members and policies."""
    for user in call(client, "GetGroup", GroupName=name).get("Users", []):
        client.remove_user_from_group(GroupName=name, UserName=user["UserName"])
    for policy in call(client, "ListGroupPolicies", GroupName=name).get("PolicyNames", []):
        client.delete_group_policy(GroupName=name, PolicyName=policy)
    attached = call(client, "ListAttachedGroupPolicies", GroupName=name)
    for policy in attached.get("AttachedPolicies", []):
        client.detach_group_policy(GroupName=name, PolicyArn=policy["PolicyArn"])


group_create = Command(
    name="euare-groupcreate",
    service="iam",
    operation="CreateGroup",
    help="Create a group.",
    args=[group_name, path_arg(),
          arg("-v", "--verbose", action="store_true", help="print the new group's ARN and id")],
    records=created_records,
)

group_list_by_path = Command(
    name="euare-grouplistbypath",
    service="iam",
    operation="ListGroups",
    help="List the ARNs of the account's groups, optionally under a path prefix.",
    args=[prefix_arg("groups")],
    records=listing("Groups", "Arn"),
    json_output=True,
)

group_delete = Command(
    name="euare-groupdel",
    service="iam",
    help="Delete a group.",
    args=[group_name,
          arg("-r", "--recursive", action="store_true",
              help="first remove its members and delete its policies")],
    run=emptied_first("DeleteGroup", "GroupName", empty_group),
)

group_add_user = Command(
    name="euare-groupadduser",
    service="iam",
    operation="AddUserToGroup",
    help="Add a user to a group.",
    args=[group_name, user_name_arg()],
)

group_remove_user = Command(
    name="euare-groupremoveuser",
    service="iam",
    operation="RemoveUserFromGroup",
    help="Remove a user from a group.",
    args=[group_name, user_name_arg()],
)

group_list_users = Command(
    name="euare-grouplistusers",
    service="iam",
    operation="GetGroup",
    help="List the ARNs of a group's members.",
    args=[group_name],
    records=listing("Users", "Arn"),
    json_output=True,
)
