"""Inline policies of users and groups: the five euare-user*policy and euare-group*policy commands.

    euare-useraddpolicy -u U -p NAME -e Allow|Deny -a ACTION -r RESOURCE [-o]
        builds a one-statement policy (-a and -r repeat) and stores it; -o prints it too
    euare-useruploadpolicy -u U -p NAME (-f FILE | -o JSON)     FILE "-" reads stdin
    euare-userlistpolicies -u U      one policy name per line
    euare-usergetpolicy -u U -p NAME the policy document as indented JSON
    euare-userdelpolicy -u U -p NAME

The group commands are the same with ``-g GROUP``. Both families are declared from one table
(:data:`HOLDERS`), so a user command and its group twin cannot drift apart.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Iterable

from eucalyptus.cli.command import Command, Record, arg
from eucalyptus.cli.connection import CommandError

POLICY_VERSION = "2012-10-17"

#: kind -> (flag, request member, API noun)
HOLDERS = {
    "user": ("-u", "UserName", "User"),
    "group": ("-g", "GroupName", "Group"),
}


def statement_policy(effect: str, actions: list[str], resources: list[str]) -> dict:
    """A policy of one statement; a single action or resource is written as a plain string."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [{
            "Effect": effect,
            "Action": actions[0] if len(actions) == 1 else actions,
            "Resource": resources[0] if len(resources) == 1 else resources,
        }],
    }


def read_document(args: argparse.Namespace) -> str:
    """The policy text from ``-f FILE`` (``-`` is stdin) or ``-o JSON``; it must be JSON."""
    if (args.policy_document is None) == (args.policy_content is None):
        raise CommandError("give exactly one of -f/--policy-document and -o/--policy-content")
    if args.policy_content is not None:
        text = args.policy_content
    elif args.policy_document == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(args.policy_document, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise CommandError(f"cannot read {args.policy_document}: {exc.strerror}") from exc
    try:
        json.loads(text)
    except ValueError as exc:
        raise CommandError(f"the policy document is not JSON: {exc}") from exc
    return text


def document_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    document = response.get("PolicyDocument")
    yield document if isinstance(document, str) else json.dumps(document, indent=2)


def printed_policy_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    if args.output:
        yield json.dumps(args.built_policy, indent=2)


def name_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    yield from response.get("PolicyNames", [])


def _built(args: argparse.Namespace) -> dict[str, Any]:
    args.built_policy = statement_policy(args.effect, args.action, args.resource)
    return {"PolicyDocument": json.dumps(args.built_policy)}


def policy_commands(kind: str) -> dict[str, Command]:
    """The five inline-policy commands of ``kind`` ("user" or "group"), keyed by verb."""
    flag, member, noun = HOLDERS[kind]
    holder = arg(flag, f"--{kind}-name", param=member, required=True, metavar=kind.upper(),
                 help=f"name of the {kind}")
    policy_name = arg("-p", "--policy-name", param="PolicyName", required=True, metavar="NAME",
                      help="name of the policy")
    prefix = f"euare-{kind}"
    return {
        "add": Command(
            name=f"{prefix}addpolicy", service="iam", operation=f"Put{noun}Policy",
            help=f"Add a one-statement policy to a {kind}.",
            args=[holder, policy_name,
                  arg("-e", "--effect", required=True, choices=["Allow", "Deny"],
                      help="the statement's effect"),
                  arg("-a", "--action", required=True, action="append", metavar="ACTION",
                      help="an action such as ec2:RunInstances (repeatable)"),
                  arg("-r", "--resource", required=True, action="append", metavar="RESOURCE",
                      help="a resource ARN or * (repeatable)"),
                  arg("-o", "--output", action="store_true", help="print the policy made")],
            build=_built, records=printed_policy_records),
        "upload": Command(
            name=f"{prefix}uploadpolicy", service="iam", operation=f"Put{noun}Policy",
            help=f"Store a policy document on a {kind}.",
            args=[holder, policy_name,
                  arg("-f", "--policy-document", metavar="FILE", help="file with the policy"),
                  arg("-o", "--policy-content", metavar="JSON", help="the policy itself")],
            build=lambda args: {"PolicyDocument": read_document(args)}),
        "list": Command(
            name=f"{prefix}listpolicies", service="iam", operation=f"List{noun}Policies",
            help=f"List the names of a {kind}'s inline policies.",
            args=[holder], records=name_records, json_output=True),
        "get": Command(
            name=f"{prefix}getpolicy", service="iam", operation=f"Get{noun}Policy",
            help=f"Show one of a {kind}'s inline policies.",
            args=[holder, policy_name], records=document_records, json_output=True),
        "delete": Command(
            name=f"{prefix}delpolicy", service="iam", operation=f"Delete{noun}Policy",
            help=f"Delete one of a {kind}'s inline policies.",
            args=[holder, policy_name]),
    }


_user = policy_commands("user")
_group = policy_commands("group")

user_add_policy: Command = _user["add"]
user_upload_policy: Command = _user["upload"]
user_list_policies: Command = _user["list"]
user_get_policy: Command = _user["get"]
user_delete_policy: Command = _user["delete"]

group_add_policy: Command = _group["add"]
group_upload_policy: Command = _group["upload"]
group_list_policies: Command = _group["list"]
group_get_policy: Command = _group["get"]
group_delete_policy: Command = _group["delete"]

