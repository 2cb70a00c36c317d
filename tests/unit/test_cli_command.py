"""The command framework without a server: argument mapping, record helpers, error lines.

``stubbed`` runs a command's request through botocore's Stubber (used by test_cli_records.py
too); the commands against a live cloud are tested in tests/api/test_cli_*.py."""
from __future__ import annotations

import botocore
import pytest
from botocore.exceptions import ClientError, NoCredentialsError
from botocore.stub import Stubber

from eucalyptus.cli.command import (Command, arg, describe_error, emptied_first, filters_param,
                                    listing, tabify)
from eucalyptus.cli.connection import CommandError, botocore_session
from eucalyptus.cli.regions import describe_regions


def stubbed(command: Command, argv: list[str], operation: str, response: dict,
            expected: dict) -> list[str]:
    """Run ``command``'s request through botocore's Stubber and return its printed records."""
    client = botocore_session().create_client(
        command.service, region_name="eucalyptus", aws_access_key_id="k",
        aws_secret_access_key="s")
    args = command.parser().parse_args(argv)
    with Stubber(client) as stub:
        stub.add_response(botocore.xform_name(operation), response, expected)
        result = command.execute(None, client, args)
        stub.assert_no_pending_responses()
    return [r if isinstance(r, str) else tabify(r) for r in command.records(result, args)]


def test_filters_merge_values_by_name():
    assert filters_param(["a=1", "b=x", "a=2", "c="]) == [
        {"Name": "a", "Values": ["1", "2"]}, {"Name": "b", "Values": ["x"]},
        {"Name": "c", "Values": [""]}]
    with pytest.raises(CommandError, match="NAME=VALUE"):
        filters_param(["nonsense"])


def test_tabify_prints_none_as_an_empty_field():
    assert tabify(("REGION", "r", None, 3)) == "REGION\tr\t\t3"


def test_describe_error_uses_code_and_message():
    exc = ClientError({"Error": {"Code": "NoSuchEntity", "Message": "no user bob"}}, "GetUser")
    assert describe_error(exc) == "error (NoSuchEntity): no user bob"
    assert describe_error(NoCredentialsError()) == "error: Unable to locate credentials"
    assert describe_error(CommandError("two\n  lines")) == "error: two lines"


def test_declared_arguments_fill_request_members():
    command = Command(name="x", service="iam", operation="ListUsers", help="",
                      args=[arg("-p", "--prefix", param="PathPrefix"),
                            arg("-q", "--quiet", action="store_true"),
                            arg("Names", param="Names", nargs="*")],
                      build=lambda a: {"MaxItems": 5} if a.quiet else {})
    args = command.parser().parse_args(["-p", "/a/", "-q"])
    assert command.params(args) == {"PathPrefix": "/a/", "MaxItems": 5}
    assert command.params(command.parser().parse_args(["n1", "n2"])) == {"Names": ["n1", "n2"]}


def test_filter_option_maps_to_ec2_filters():
    lines = stubbed(describe_regions, ["r1", "-F", "endpoint=*x*"], "DescribeRegions",
                    {"Regions": [{"RegionName": "r1", "Endpoint": "http://x/services/compute"}]},
                    {"RegionNames": ["r1"], "Filters": [{"Name": "endpoint",
                                                         "Values": ["*x*"]}]})
    assert lines == ["REGION\tr1\thttp://x/services/compute"]


def test_a_bad_filter_fails_before_any_request():
    with pytest.raises(CommandError, match="'oops' is not NAME=VALUE"):
        describe_regions.params(describe_regions.parser().parse_args(["-F", "oops"]))
    assert describe_regions.params(describe_regions.parser().parse_args([])) == {}


def test_listing_prints_a_tag_and_fields_per_item():
    records = listing("Things", "Name", "Size", tag="THING")
    response = {"Things": [{"Name": "a", "Size": 1}, {"Name": "b"}]}
    assert list(records(response, None)) == [("THING", "a", 1), ("THING", "b", None)]
    assert list(listing("Things", "Name")(response, None)) == [("a",), ("b",)]
    assert list(records({}, None)) == []


def test_emptied_first_empties_only_when_recursive():
    emptied: list[str] = []
    command = Command(name="x", service="iam", help="",
                      args=[arg("-u", "--user-name", param="UserName"),
                            arg("-r", "--recursive", action="store_true")],
                      run=emptied_first("DeleteUser", "UserName",
                                        lambda client, name: emptied.append(name)))
    client = botocore_session().create_client("iam", region_name="eucalyptus",
                                              aws_access_key_id="k", aws_secret_access_key="s")
    with Stubber(client) as stub:
        stub.add_response("delete_user", {}, {"UserName": "bob"})
        stub.add_response("delete_user", {}, {"UserName": "eve"})
        command.execute(None, client, command.parser().parse_args(["-u", "bob"]))
        command.execute(None, client, command.parser().parse_args(["-u", "eve", "-r"]))
        stub.assert_no_pending_responses()
    assert emptied == ["eve"]


def test_bad_arguments_exit_2_like_any_argparse_program(capsys):
    with pytest.raises(SystemExit) as stop:
        describe_regions(["--no-such-option"])
    assert stop.value.code == 2
