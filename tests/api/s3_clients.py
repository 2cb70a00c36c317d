"""S3 clients for live-cloud tests: boto3, the AWS CLI and s3cmd pointed at a cloud's Walrus.

Import the fixtures into a test module (``from tests.api.s3_clients import s3, bucket``):

* ``s3``: a boto3 S3 client of the cloud admin (path-style addressing, one attempt).
* ``bucket``: a fresh bucket (unique name) emptied of every version and upload and deleted
  after the test.
* ``s3cmd``: ``s3cmd(*args) -> CompletedProcess`` running s3cmd with a per-test config file.

Helpers: ``s3_client(cloud, **config)``, ``unique_bucket(prefix)``, ``empty_bucket(client,
name)``, ``write_s3cmd_config(cloud, path, key=None, secret=None)``, ``run_s3cmd(config, *args)``,
``error_code(exc)``, ``other_account_keys(cloud)``.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

BIN = Path(sys.executable).parent


def unique_bucket(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def s3_client(cloud, key: str | None = None, secret: str | None = None, **config):
    """A boto3 S3 client for ``cloud`` (admin credentials unless ``key``/``secret``)."""
    options = {"retries": {"max_attempts": 1, "mode": "standard"},
               "s3": {"addressing_style": "path"}, "connect_timeout": 5, "read_timeout": 120}
    options.update(config)
    return boto3.session.Session().client(
        "s3", endpoint_url=cloud.endpoint("s3"), region_name=cloud.env["AWS_DEFAULT_REGION"],
        aws_access_key_id=key or cloud.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=secret or cloud.env["AWS_SECRET_ACCESS_KEY"],
        config=Config(**options))


def empty_bucket(client, name: str) -> None:
    """Delete every version, delete marker and multipart upload of ``name``."""
    items = [{"Key": v["Key"], "VersionId": v["VersionId"]}
             for page in client.get_paginator("list_object_versions").paginate(Bucket=name)
             for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    for start in range(0, len(items), 1000):
        client.delete_objects(Bucket=name, Delete={"Objects": items[start:start + 1000],
                                                   "Quiet": True})
    for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=name):
        for upload in page.get("Uploads", []):
            client.abort_multipart_upload(Bucket=name, Key=upload["Key"],
                                          UploadId=upload["UploadId"])


def other_account_keys(cloud) -> tuple[str, str]:
    """(access key, secret) of the root of a new account (made by the cloud admin)."""
    import zipfile

    from eucalyptus.credentials import parse_eucarc

    account = unique_bucket("acct")
    cloud.client("iam").create_account(AccountName=account)
    target = cloud.home / f"{account}.zip"
    made = cloud.admin("credentials", "--account", account, "--user", "admin", "-o",
                       str(target))
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(target) as bundle:
        env = parse_eucarc(bundle.read("eucarc").decode())
    return env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]


def error_code(exc) -> str:
    return exc.response["Error"]["Code"]


def write_s3cmd_config(cloud, path: Path, key: str | None = None,
                       secret: str | None = None) -> Path:
    """An s3cmd config talking SigV4 over plain HTTP to the cloud's Walrus."""
    endpoint = urlsplit(cloud.endpoint("s3"))
    host = endpoint.netloc
    path.write_text(
        "[default]\n"
        f"access_key = {key or cloud.env['AWS_ACCESS_KEY_ID']}\n"
        f"secret_key = {secret or cloud.env['AWS_SECRET_ACCESS_KEY']}\n"
        f"host_base = {host}\n"
        f"host_bucket = {host}\n"
        f"bucket_location = {cloud.env['AWS_DEFAULT_REGION']}\n"
        "use_https = False\n"
        "signature_v2 = False\n"
        "check_ssl_certificate = False\n"
        "guess_mime_type = True\n"
        "progress_meter = False\n")
    return path


def run_s3cmd(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    exe = BIN / "s3cmd" if (BIN / "s3cmd").exists() else shutil.which("s3cmd")
    return subprocess.run([sys.executable, str(exe), "-c", str(config), *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def s3(cloud):
    return s3_client(cloud)


@pytest.fixture
def bucket(s3):
    name = unique_bucket()
    s3.create_bucket(Bucket=name)
    yield name
    empty_bucket(s3, name)
    s3.delete_bucket(Bucket=name)


@pytest.fixture
def s3cmd(cloud, tmp_path):
    config = write_s3cmd_config(cloud, tmp_path / "s3cmd.cfg")

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return run_s3cmd(config, *args, timeout=timeout)
    return run
