"""The `eucalyptus` admin command against a running cloud (SQLite and PostgreSQL)."""
from __future__ import annotations

import configparser
import zipfile

from eucalyptus.config import COMPONENTS
from eucalyptus.credentials import parse_eucarc


def test_up_printed_endpoints_and_credentials(cloud):
    out = cloud.up_log.read_text()
    for name in COMPONENTS:
        assert cloud.urls[name] in out
    for service in ("ec2", "iam", "sts", "s3"):
        assert cloud.urls[service] in out
    assert f"{cloud.data_dir}/credentials/eucarc" in out
    assert "eucalyptus up: ready" in out


def test_eucarc_variables(cloud):
    clc, walrus = cloud.urls["clc"], cloud.urls["walrus"]
    env = cloud.env
    assert env["EC2_URL"] == f"{clc}/services/compute" == env["AWS_ENDPOINT_URL_EC2"]
    assert env["S3_URL"] == f"{walrus}/services/objectstorage" == env["AWS_ENDPOINT_URL_S3"]
    assert env["EUARE_URL"] == env["AWS_IAM_URL"] == f"{clc}/services/Euare"
    assert env["AWS_ENDPOINT_URL_IAM"] == env["EUARE_URL"]
    assert env["TOKEN_URL"] == f"{clc}/services/Tokens" == env["AWS_ENDPOINT_URL_STS"]
    assert env["EC2_ACCESS_KEY"] == env["AWS_ACCESS_KEY_ID"]
    assert env["EC2_ACCESS_KEY"].startswith("AKIA")
    assert env["EC2_SECRET_KEY"] == env["AWS_SECRET_ACCESS_KEY"]
    assert len(env["EC2_SECRET_KEY"]) == 40
    assert env["AWS_DEFAULT_REGION"] == "eucalyptus"
    mode = (cloud.data_dir / "credentials" / "eucarc").stat().st_mode & 0o777
    assert mode == 0o600


def test_status_shows_every_component_healthy(cloud):
    result = cloud.admin("status")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for name in COMPONENTS:
        row = next(line for line in lines if f" {name} " in line and cloud.urls[name] in line)
        assert " ok " in row
    assert any(f"127.0.0.1:{cloud.port_base + 2}" in line and " up " in line for line in lines)


def test_plain_aws_cli_and_boto3_after_sourcing_eucarc(cloud):
    who = cloud.aws("sts", "get-caller-identity", "--output", "json")
    assert who.returncode == 0, who.stderr
    assert cloud.env["EC2_USER_ID"] in who.stdout
    zones = cloud.aws("ec2", "describe-availability-zones", "--output", "text")
    assert zones.returncode == 0, zones.stderr
    assert "eucalyptus-1a" in zones.stdout and "available" in zones.stdout
    users = cloud.client("iam").list_users()["Users"]
    assert isinstance(users, list)


def test_aws_cli_profile_files(cloud):
    creds_dir = cloud.data_dir / "credentials"
    result = cloud.aws("--profile", "eucalyptus", "sts", "get-caller-identity",
                       "--query", "Account", "--output", "text",
                       env={"AWS_CONFIG_FILE": str(creds_dir / "aws-config"),
                            "AWS_SHARED_CREDENTIALS_FILE": str(creds_dir / "aws-credentials"),
                            "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
                            "AWS_ENDPOINT_URL_STS": "", "AWS_DEFAULT_REGION": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == cloud.env["EC2_USER_ID"]


def test_properties_get_set_and_errors(cloud):
    name = "cloud.vmstate.terminated_time"
    everything = cloud.admin("properties")
    assert everything.returncode == 0, everything.stderr
    for prop in ("cloud.vmstate.instance_timeout", name, "region.region_name",
                 "cloud.network.max_elastic_ips"):
        assert f"{prop} = " in everything.stdout
    assert "region.region_name = eucalyptus" in everything.stdout
    changed = cloud.admin("properties", f"{name}=15")
    assert changed.returncode == 0 and changed.stdout.strip() == f"{name} = 15"
    assert cloud.admin("properties", name).stdout.strip() == f"{name} = 15"
    unknown = cloud.admin("properties", "cloud.no.such.thing")
    assert unknown.returncode == 1
    assert "unknown property: cloud.no.such.thing" in unknown.stderr
    bad = cloud.admin("properties", f"{name}=soon")
    assert bad.returncode == 1 and name in bad.stderr and "integer" in bad.stderr
    assert cloud.admin("properties", name).stdout.strip() == f"{name} = 15"
    described = cloud.admin("properties", "--describe", name)
    assert "integer, default 60" in described.stdout


def test_a_property_set_by_the_admin_reaches_ec2(cloud):
    result = cloud.admin("properties", "cloud.vpc.max_elastic_ips=9")
    assert result.returncode == 0, result.stderr
    answer = cloud.client("ec2").describe_account_attributes(
        AttributeNames=["vpc-max-elastic-ips"])["AccountAttributes"]
    assert answer[0]["AttributeValues"] == [{"AttributeValue": "9"}]


def _zip_contents(path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n).decode() for n in zf.namelist()}


def test_credentials_zip_for_admin_and_new_user(cloud, tmp_path):
    out = tmp_path / "admin.zip"
    result = cloud.admin("credentials", "--account", "eucalyptus", "--user", "admin",
                         "-o", str(out))
    assert result.returncode == 0, result.stderr
    files = _zip_contents(out)
    assert set(files) == {"eucarc", "aws-config", "aws-credentials", "cloud-cert.pem"}
    assert files["cloud-cert.pem"] == (cloud.data_dir / "keys" / "cloud-cert.pem").read_text()
    env = parse_eucarc(files["eucarc"])
    assert env["EC2_ACCESS_KEY"] == cloud.env["EC2_ACCESS_KEY"]
    assert env["EC2_URL"] == cloud.env["EC2_URL"]
    config = configparser.ConfigParser()
    config.read_string(files["aws-config"])
    assert config["profile eucalyptus"]["region"] == "eucalyptus"
    creds = configparser.ConfigParser()
    creds.read_string(files["aws-credentials"])
    assert creds["eucalyptus"]["aws_access_key_id"] == cloud.env["EC2_ACCESS_KEY"]

    cloud.client("iam").create_user(UserName=f"zipuser-{cloud.backend}")
    user_zip = tmp_path / "user.zip"
    made = cloud.admin("credentials", "--account", "eucalyptus",
                       "--user", f"zipuser-{cloud.backend}", "-o", str(user_zip))
    assert made.returncode == 0, made.stderr
    user_env = parse_eucarc(_zip_contents(user_zip)["eucarc"])
    assert user_env["AWS_ACCESS_KEY_ID"] != cloud.env["AWS_ACCESS_KEY_ID"]
    sts = cloud.client("sts", aws_access_key_id=user_env["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=user_env["AWS_SECRET_ACCESS_KEY"])
    assert sts.get_caller_identity()["Arn"].endswith(f":user/zipuser-{cloud.backend}")


def test_credentials_for_unknown_user_fails_cleanly(cloud, tmp_path):
    result = cloud.admin("credentials", "--account", "eucalyptus", "--user", "nobody",
                         "-o", str(tmp_path / "x.zip"))
    assert result.returncode == 1
    assert "NoSuchEntity" in result.stderr and "nobody" in result.stderr
    assert not (tmp_path / "x.zip").exists()
