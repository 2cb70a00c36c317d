"""Credentials files of one user: ``eucarc``, an AWS CLI profile, and the zip holding them.

``eucarc`` (source it) exports Eucalyptus' variables (EC2_URL, S3_URL, EUARE_URL, TOKEN_URL,
EC2_ACCESS_KEY, ...) and the AWS ones (AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL_EC2, ...), so
euca2ools, the AWS CLI and boto3 all work after ``source eucarc``. ``aws-config`` and
``aws-credentials`` hold the same as the AWS CLI profile ``eucalyptus`` (use them with
``AWS_CONFIG_FILE=... AWS_SHARED_CREDENTIALS_FILE=... aws --profile eucalyptus``).
"""
from __future__ import annotations

import io
import os
import shlex
import zipfile
from dataclasses import dataclass
from pathlib import Path

PROFILE = "eucalyptus"
FILES = ("eucarc", "aws-config", "aws-credentials")
CLOUD_CERT_FILE = "cloud-cert.pem"      # written too when the cloud certificate is known


@dataclass(frozen=True)
class UserCredentials:
    account_name: str
    account_id: str
    user_name: str
    arn: str
    access_key_id: str
    secret_access_key: str
    region: str
    urls: dict[str, str]          # "ec2", "iam", "sts", "s3" -> endpoint URL
    cloud_cert: str = ""          # the cloud's X.509 certificate (PEM), for bundling images


def environment(c: UserCredentials) -> dict[str, str]:
    """The variables eucarc exports, in order."""
    return {
        "EC2_URL": c.urls["ec2"], "S3_URL": c.urls["s3"], "EUARE_URL": c.urls["iam"],
        "AWS_IAM_URL": c.urls["iam"], "TOKEN_URL": c.urls["sts"],
        "EC2_ACCESS_KEY": c.access_key_id, "EC2_SECRET_KEY": c.secret_access_key,
        "EC2_USER_ID": c.account_id, "EC2_ACCOUNT_NUMBER": c.account_id,
        "AWS_ACCESS_KEY_ID": c.access_key_id, "AWS_SECRET_ACCESS_KEY": c.secret_access_key,
        "AWS_ACCESS_KEY": c.access_key_id, "AWS_SECRET_KEY": c.secret_access_key,
        "AWS_DEFAULT_REGION": c.region,
        "AWS_ENDPOINT_URL_EC2": c.urls["ec2"], "AWS_ENDPOINT_URL_IAM": c.urls["iam"],
        "AWS_ENDPOINT_URL_STS": c.urls["sts"], "AWS_ENDPOINT_URL_S3": c.urls["s3"],
    }


def eucarc_text(c: UserCredentials) -> str:
    lines = [f"# Credentials of {c.arn} (account {c.account_name}, {c.account_id}).",
             "# Use: source eucarc",
             'EUCA_KEY_DIR=$(cd "$(dirname "${BASH_SOURCE:-$0}")" && pwd -P)']
    lines += [f"export {k}={shlex.quote(v)}" for k, v in environment(c).items()]
    if c.cloud_cert:
        lines.append(f'export EUCALYPTUS_CERT="${{EUCA_KEY_DIR}}/{CLOUD_CERT_FILE}"')
    return "\n".join(lines) + "\n"


def aws_config_text(c: UserCredentials, profile: str = PROFILE) -> str:
    section = "default" if profile == "default" else f"profile {profile}"
    endpoints = "\n".join(f"{svc} =\n  endpoint_url = {c.urls[svc]}"
                          for svc in ("ec2", "iam", "sts", "s3"))
    return (f"[{section}]\nregion = {c.region}\nservices = {profile}-endpoints\n\n"
            f"[services {profile}-endpoints]\n{endpoints}\n")


def aws_credentials_text(c: UserCredentials, profile: str = PROFILE) -> str:
    return (f"[{profile}]\naws_access_key_id = {c.access_key_id}\n"
            f"aws_secret_access_key = {c.secret_access_key}\n")


def file_texts(c: UserCredentials) -> dict[str, str]:
    texts = {"eucarc": eucarc_text(c), "aws-config": aws_config_text(c),
             "aws-credentials": aws_credentials_text(c)}
    if c.cloud_cert:
        texts[CLOUD_CERT_FILE] = c.cloud_cert
    return texts


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def write_directory(c: UserCredentials, directory: Path) -> Path:
    """Write the three files (mode 0600) into ``directory``; the eucarc path."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name, text in file_texts(c).items():
        _write_private(directory / name, text)
    return directory / "eucarc"


def zip_bytes(c: UserCredentials) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in file_texts(c).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o600 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text)
    return buf.getvalue()


def write_zip(c: UserCredentials, path: Path) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(zip_bytes(c))
    return path


def parse_eucarc(text: str) -> dict[str, str]:
    """The ``export NAME=value`` assignments of an eucarc (for tests and tools)."""
    env = {}
    for line in text.splitlines():
        if line.startswith("export "):
            name, _, raw = line[len("export "):].partition("=")
            env[name] = " ".join(shlex.split(raw))
    return env
