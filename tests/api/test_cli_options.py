"""What every command shares, against the live cloud: where the endpoint, keys and region come
from (eucarc variables, AWS variables, profiles and the ``services`` section of the AWS config
files), one-line errors with the cloud's code and exit status 1, and ``--debug``."""
from __future__ import annotations

import os
import re

from eucalyptus.cli.connection import DEFAULT_REGION
from eucalyptus.cli.regions import describe_regions
from eucalyptus.cli.users import user_get_attributes, user_list_by_path
from tests.api.cli_runner import (COMMAND_VARIABLE_PREFIXES, SQLITE_ONLY,  # noqa: F401
                                  account, cli)

pytestmark = SQLITE_ONLY


def only(cli, **variables: str) -> None:
    """Leave the commands nothing but ``variables`` (and the empty AWS config files)."""
    for name in list(os.environ):
        if name.startswith(COMMAND_VARIABLE_PREFIXES) and name not in (
                "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED"):
            cli.env.delenv(name)
    for name, value in variables.items():
        cli.env.setenv(name, value)


def region_line(cloud) -> str:
    return f"REGION\t{cloud.env['AWS_DEFAULT_REGION']}\t{cloud.env['EC2_URL']}"


def test_eucarc_variables_alone_are_enough(cli, cloud):
    only(cli, **{k: cloud.env[k] for k in ("EC2_URL", "EC2_ACCESS_KEY", "EC2_SECRET_KEY")})
    assert cli(describe_regions).ok() == [region_line(cloud)]


def test_aws_variables_alone_are_enough(cli, cloud):
    only(cli, **{k: cloud.env[k] for k in ("AWS_ENDPOINT_URL_IAM", "AWS_ACCESS_KEY_ID",
                                           "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
    assert cli(user_get_attributes).ok()[0].endswith(":user/admin")


def test_eucarc_names_win_over_aws_names(cli, cloud, account):
    """EC2_URL over AWS_ENDPOINT_URL_EC2, EC2_ACCESS_KEY over AWS_ACCESS_KEY_ID."""
    only(cli, EC2_URL=cloud.env["EC2_URL"], AWS_ENDPOINT_URL_EC2="http://127.0.0.1:9/nowhere",
         EUARE_URL=cloud.env["EUARE_URL"], AWS_IAM_URL="http://127.0.0.1:9/nowhere",
         EC2_ACCESS_KEY=account.key_id, EC2_SECRET_KEY=account.secret,
         AWS_ACCESS_KEY_ID=cloud.env["AWS_ACCESS_KEY_ID"],
         AWS_SECRET_ACCESS_KEY=cloud.env["AWS_SECRET_ACCESS_KEY"])
    assert cli(describe_regions).ok() == [region_line(cloud)]
    assert cli(user_list_by_path).ok() == [f"arn:aws:iam::{account.account_id}:user/admin"]


def test_options_win_over_the_environment(cli, cloud, account):
    only(cli, EC2_URL="http://127.0.0.1:9/nowhere", EC2_ACCESS_KEY="AKIANOSUCHKEY0000000",
         EC2_SECRET_KEY="x", EUARE_URL="http://127.0.0.1:9/nowhere")
    assert cli(describe_regions, "-U", cloud.env["EC2_URL"], "-I", cloud.env["EC2_ACCESS_KEY"],
               "-S", cloud.env["EC2_SECRET_KEY"]).ok() == [region_line(cloud)]
    assert cli(user_list_by_path, "--url", cloud.env["EUARE_URL"], "--access-key-id",
               account.key_id, "--secret-key", account.secret).ok() == \
        [f"arn:aws:iam::{account.account_id}:user/admin"]


def test_profile_with_a_services_section(cli, cloud, account, tmp_path):
    only(cli)
    (tmp_path / "aws-config").write_text(
        "[profile euca]\nregion = {region}\nservices = cloud\n"
        "endpoint_url = {ec2}\n"
        "[services cloud]\niam =\n  endpoint_url = {iam}\n".format(
            region=cloud.env["AWS_DEFAULT_REGION"], ec2=cloud.env["EC2_URL"],
            iam=cloud.env["EUARE_URL"]))
    (tmp_path / "aws-credentials").write_text(
        f"[euca]\naws_access_key_id = {account.key_id}\n"
        f"aws_secret_access_key = {account.secret}\n")
    # iam from the services section, ec2 from the profile's endpoint_url, keys from the profile
    assert cli(user_list_by_path, "--profile", "euca").ok() == \
        [f"arn:aws:iam::{account.account_id}:user/admin"]
    cli.env.setenv("AWS_PROFILE", "euca")
    assert cli(user_list_by_path).ok() == [f"arn:aws:iam::{account.account_id}:user/admin"]
    assert cli(describe_regions).ok() == [region_line(cloud)]
    # an explicit profile beats the eucarc keys; the eucarc URL beats the profile's
    cli.env.delenv("AWS_PROFILE")
    cli.env.setenv("EC2_ACCESS_KEY", cloud.env["EC2_ACCESS_KEY"])
    cli.env.setenv("EC2_SECRET_KEY", cloud.env["EC2_SECRET_KEY"])
    cli.env.setenv("EUARE_URL", "http://127.0.0.1:9/nowhere")
    cli.env.setenv("AWS_MAX_ATTEMPTS", "1")
    ran = cli(user_list_by_path, "--profile", "euca")
    assert ran.status == 1 and "Could not connect" in ran.err
    cli.env.setenv("EUARE_URL", cloud.env["EUARE_URL"])
    assert cli(user_list_by_path, "--profile", "euca").ok() == \
        [f"arn:aws:iam::{account.account_id}:user/admin"]
    assert cli(user_list_by_path).ok()[0].startswith(f"arn:aws:iam::{cli.admin.account_id}:")


def test_an_unknown_profile_is_one_line(cli):
    ran = cli(describe_regions, "--profile", "nosuch")
    assert (ran.status, ran.out) == (1, [])
    assert ran.err == ("euca-describe-regions: error: The config profile (nosuch) could not be "
                       "found\n")


def test_the_region_goes_into_the_signature(cli):
    def signed_regions(*argv: str) -> set[str]:
        ran = cli(describe_regions, "--debug", *argv)      # the wire log shows the headers
        assert ran.status == 0 and len(ran.out) == 1
        return set(re.findall(r"Credential=\w+/\d{8}/([^/]+)/ec2/aws4_request", ran.err))
    assert signed_regions("--region", "elsewhere") == {"elsewhere"}
    cli.env.setenv("AWS_DEFAULT_REGION", "fromenv")
    assert signed_regions() == {"fromenv"}
    cli.env.delenv("AWS_DEFAULT_REGION")
    assert signed_regions() == {DEFAULT_REGION}


def test_unknown_key_is_one_line_with_the_clouds_code(cli):
    ran = cli(describe_regions, "-I", "AKIANOSUCHKEY0000000", "-S", "x")
    assert (ran.status, ran.out) == (1, [])
    assert ran.err == ("euca-describe-regions: error (AuthFailure): AWS was not able to "
                       "validate the provided access credentials\n")
    ran = cli(user_list_by_path, "-I", "AKIANOSUCHKEY0000000", "-S", "x")
    assert (ran.status, ran.out) == (1, [])
    assert ran.err == ("euare-userlistbypath: error (InvalidClientTokenId): The security token "
                       "included in the request is invalid.\n")


def test_wrong_secret_is_one_line_with_the_clouds_code(cli, cloud):
    ran = cli(describe_regions, "-I", cloud.env["EC2_ACCESS_KEY"], "-S", "x" * 40)
    assert (ran.status, ran.out) == (1, [])
    assert ran.err.startswith("euca-describe-regions: error (SignatureDoesNotMatch): The request "
                              "signature we calculated does not match")
    assert ran.err.count("\n") == 1


def test_debug_prints_wire_log_and_traceback(cli):
    ran = cli(describe_regions, "--debug", "-I", "AKIANOSUCHKEY0000000", "-S", "x")
    assert ran.status == 1 and ran.out == []
    assert "Traceback (most recent call last)" in ran.err
    assert "Response body" in ran.err and "<Code>AuthFailure</Code>" in ran.err  # botocore's log
    assert ran.err.endswith("euca-describe-regions: error (AuthFailure): AWS was not able to "
                            "validate the provided access credentials\n")
    # the wire log is only for that command
    assert cli(describe_regions, "-I", "AKIANOSUCHKEY0000000", "-S", "x").err.count("\n") == 1
