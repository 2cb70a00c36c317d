"""euca-create-tags, euca-delete-tags, euca-describe-tags.

``--tag KEY=VALUE`` (or ``KEY`` alone: empty value; for delete: any value). Records::

    TAG  <resource type>  <resource id>  <key>  <value>
"""
from __future__ import annotations

import argparse
from typing import Any, Iterable

from eucalyptus.cli.command import Command, Record, arg, filter_arg, filters_param


def _tags(pairs: list[str], keep_empty: bool) -> list[dict[str, Any]]:
    out = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        tag: dict[str, Any] = {"Key": key}
        if sep or keep_empty:
            tag["Value"] = value
        out.append(tag)
    return out


def _records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    for t in response.get("Tags", []):
        yield "TAG", t["ResourceType"], t["ResourceId"], t["Key"], t.get("Value", "")


def _echo(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    for resource in args.Resources:
        for tag in _tags(args.tag, keep_empty=True):
            yield "TAG", resource, tag["Key"], tag.get("Value", "")


_ARGS = [arg("Resources", param="Resources", nargs="+", metavar="RESOURCE")]

create_tags = Command(
    name="euca-create-tags", service="ec2", operation="CreateTags",
    help="Add or overwrite tags of resources.",
    args=_ARGS + [arg("--tag", action="append", default=[], required=True,
                      metavar="KEY[=VALUE]", help="a tag (repeatable)")],
    build=lambda args: {"Tags": _tags(args.tag, keep_empty=True)},
    records=_echo,
)

delete_tags = Command(
    name="euca-delete-tags", service="ec2", operation="DeleteTags",
    help="Remove tags from resources (all of them without --tag).",
    args=_ARGS + [arg("--tag", action="append", default=[], metavar="KEY[=VALUE]",
                      help="a tag; with =VALUE only when the value matches")],
    build=lambda args: {"Tags": _tags(args.tag, keep_empty=False)} if args.tag else {},
    records=lambda response, args: [],
)

describe_tags = Command(
    name="euca-describe-tags", service="ec2", operation="DescribeTags",
    help="Show tags.", args=[filter_arg()],
    build=lambda args: {"Filters": filters_param(args.filters)} if args.filters else {},
    records=_records,
)
