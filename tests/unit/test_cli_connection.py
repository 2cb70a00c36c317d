"""Endpoint, credential and region resolution, and how failures are reported."""
from __future__ import annotations

import argparse
import socket

import botocore.session
import pytest

from eucalyptus.cli import connection
from eucalyptus.cli.connection import CommandError, resolve_credentials, resolve_endpoint, \
    resolve_region
from eucalyptus.cli.regions import describe_regions
from eucalyptus.cli.users import user_list_by_path
from test_cli_fakecloud import ADMIN_KEY, ADMIN_SECRET, run
from test_cli_fakecloud import account_models_dir, clean_env, cloud, models  # noqa: F401


def options(**given) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    connection.add_connection_arguments(parser)
    args = parser.parse_args([])
    for name, value in given.items():
        setattr(args, name, value)
    return args


def session(profile=None):
    made = botocore.session.get_session()
    if profile:
        made.set_config_variable("profile", profile)
    return made


def endpoint(service, env, args=None):
    return resolve_endpoint(service, args or options(), session(), env)


def test_endpoint_order_for_ec2(clean_env):
    env = {"EC2_URL": "http://a:8773/services/compute", "AWS_ENDPOINT_URL_EC2": "http://b",
           "AWS_ENDPOINT_URL": "http://c"}
    assert endpoint("ec2", env, options(url="http://u:1/x")) == "http://u:1/x"
    assert endpoint("ec2", env) == "http://a:8773/services/compute"
    del env["EC2_URL"]
    assert endpoint("ec2", env) == "http://b"
    del env["AWS_ENDPOINT_URL_EC2"]
    assert endpoint("ec2", env) == "http://c"


def test_eucarc_names_per_service(clean_env):
    env = {"EUARE_URL": "http://euare", "AWS_IAM_URL": "http://iam", "TOKEN_URL": "http://sts",
           "S3_URL": "http://walrus", "EC2_URL": "http://ec2"}
    assert endpoint("iam", env) == "http://euare"
    assert endpoint("iam", {"AWS_IAM_URL": "http://iam"}) == "http://iam"
    assert endpoint("sts", env) == "http://sts"
    assert endpoint("s3", env) == "http://walrus"
    assert endpoint("iam", {"EC2_URL": "http://ec2"}, options(url="h:8773")) == "http://h:8773"


def test_endpoint_from_the_profile_services_section(clean_env, tmp_path):
    (tmp_path / "aws-config").write_text(
        "[profile euca]\nservices = cloud\nendpoint_url = http://global:1\n"
        "[services cloud]\niam =\n  endpoint_url = http://iam-from-config:8773/services/Euare\n")
    made = session("euca")
    assert resolve_endpoint("iam", options(), made, {}) == \
        "http://iam-from-config:8773/services/Euare"
    assert resolve_endpoint("ec2", options(), made, {}) == "http://global:1"


def test_no_endpoint_is_an_error_naming_the_variables(clean_env):
    with pytest.raises(CommandError, match="EUARE_URL or AWS_IAM_URL or AWS_ENDPOINT_URL_IAM"):
        endpoint("iam", {})


def test_credentials_order(clean_env, tmp_path):
    env = {"EC2_ACCESS_KEY": "EC2KEY", "EC2_SECRET_KEY": "ec2secret"}
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AWSKEY")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "awssecret")
    given = resolve_credentials(options(access_key_id="K", secret_key="S"), session(), env)
    assert (given.access_key, given.secret_key) == ("K", "S")
    assert resolve_credentials(options(), session(), env).access_key == "EC2KEY"
    assert resolve_credentials(options(), session(), {}).secret_key == "awssecret"
    (tmp_path / "aws-credentials").write_text(
        "[other]\naws_access_key_id = PROFILEKEY\naws_secret_access_key = p\n")
    explicit = resolve_credentials(options(profile="other"), session("other"), env)
    assert explicit.access_key == "PROFILEKEY"


def test_half_given_keys_and_no_keys_are_errors(clean_env):
    with pytest.raises(CommandError, match="go together"):
        resolve_credentials(options(access_key_id="K"), session(), {})
    with pytest.raises(CommandError, match="no credentials"):
        resolve_credentials(options(), session(), {})


def test_region_order(clean_env):
    assert resolve_region(options(region="r1"), session()) == "r1"
    assert resolve_region(options(), session()) == connection.DEFAULT_REGION == "eucalyptus"
    clean_env.setenv("AWS_DEFAULT_REGION", "r2")
    assert resolve_region(options(), session()) == "r2"


def test_auth_failure_is_one_line_and_status_1(cloud, capsys):
    status, out, err = run(describe_regions, ["-I", "AKIANOSUCHKEY0000000", "-S", "x"], capsys)
    assert status == 1 and out == []
    assert err == ("euca-describe-regions: error (AuthFailure): AWS was not able to validate "
                   "the provided access credentials\n")
    status, _, err = run(user_list_by_path, ["-I", "AKIANOSUCHKEY0000000", "-S", "x"], capsys)
    assert status == 1 and err.startswith("euare-userlistbypath: error (AuthFailure): ")
    assert err.count("\n") == 1


def test_missing_endpoint_and_keys_are_one_line(clean_env, capsys):
    status, out, err = run(describe_regions, [], capsys)
    assert status == 1 and out == []
    assert err == ("euca-describe-regions: error: no ec2 endpoint: use -U/--url or set EC2_URL "
                   "or AWS_ENDPOINT_URL_EC2\n")
    status, _, err = run(describe_regions, ["-U", "http://127.0.0.1:9/services/compute"], capsys)
    assert status == 1 and err.startswith("euca-describe-regions: error: no credentials")


def test_unreachable_endpoint_is_one_line(clean_env, capsys):
    clean_env.setenv("AWS_MAX_ATTEMPTS", "1")
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    status, _, err = run(describe_regions, ["-U", f"http://127.0.0.1:{port}/services/compute",
                                            "-I", ADMIN_KEY, "-S", ADMIN_SECRET], capsys)
    assert status == 1
    assert err == (f"euca-describe-regions: error: Could not connect to the endpoint URL: "
                   f'"http://127.0.0.1:{port}/services/compute"\n')


def test_debug_prints_wire_log_and_traceback(cloud, capsys):
    status, _, err = run(describe_regions, ["--debug", "-I", "AKIANOSUCHKEY0000000", "-S", "x"],
                         capsys)
    assert status == 1
    assert "Traceback (most recent call last)" in err
    assert "Response body" in err and "<Code>AuthFailure</Code>" in err   # botocore's log
    assert err.rstrip().endswith("the provided access credentials")
