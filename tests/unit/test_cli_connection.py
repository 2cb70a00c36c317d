"""Endpoint, credential and region resolution, and how failures before any answer are
reported (the same against the live cloud: tests/api/test_cli_options.py)."""
from __future__ import annotations

import argparse
import os
import socket

import botocore.session
import pytest

from eucalyptus.cli import connection
from eucalyptus.cli.connection import CommandError, resolve_credentials, resolve_endpoint, \
    resolve_region
from eucalyptus.cli.regions import describe_regions


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No endpoint, key or profile leaks in from the machine running the tests."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "EC2_", "EUARE_", "TOKEN_", "S3_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


def run(command, argv, capsys) -> tuple[int, list[str], str]:
    """Run a command in-process: (exit status, stdout lines, stderr)."""
    status = command(list(argv))
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


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
                                            "-I", "AKIAEXAMPLE000000000", "-S", "s"], capsys)
    assert status == 1
    assert err == (f"euca-describe-regions: error: Could not connect to the endpoint URL: "
                   f'"http://127.0.0.1:{port}/services/compute"\n')


def test_sessions_share_one_model_loader_with_the_account_operations(clean_env):
    first, second = connection.botocore_session(), connection.botocore_session("other")
    assert first.get_component("data_loader") is second.get_component("data_loader")
    assert "CreateAccount" in first.get_service_model("iam").operation_names
    assert second.get_config_variable("profile") == "other"
