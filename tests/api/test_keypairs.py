"""Key pairs through boto3 and the euca- commands against a live cloud."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

BIN = Path(sys.executable).parent


def run(cloud, tmp_path, *argv: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **cloud.env}
    return subprocess.run([str(BIN / argv[0]), *argv[1:]], capture_output=True, text=True,
                          timeout=60, env=env)


def test_keypairs_boto3(cloud):
    ec2 = cloud.client("ec2")
    name = f"kp-{uuid.uuid4().hex[:8]}"
    made = ec2.create_key_pair(KeyName=name, KeyType="ed25519")
    assert made["KeyMaterial"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    with pytest.raises(ClientError) as err:
        ec2.create_key_pair(KeyName=name)
    assert err.value.response["Error"]["Code"] == "InvalidKeyPair.Duplicate"
    public = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    imported = ec2.import_key_pair(KeyName=name + "-imp", PublicKeyMaterial=public)
    pairs = {p["KeyName"]: p for p in ec2.describe_key_pairs(
        KeyNames=[name, name + "-imp"], IncludePublicKey=True)["KeyPairs"]}
    assert pairs[name]["KeyFingerprint"] == made["KeyFingerprint"]
    assert pairs[name + "-imp"]["PublicKey"].split()[:2] == public.decode().split()[:2]
    assert pairs[name + "-imp"]["KeyFingerprint"] == imported["KeyFingerprint"]
    for key in (name, name + "-imp", name):           # the second delete of name: still fine
        ec2.delete_key_pair(KeyName=key)
    with pytest.raises(ClientError) as err:
        ec2.describe_key_pairs(KeyNames=[name])
    assert err.value.response["Error"]["Code"] == "InvalidKeyPair.NotFound"


def test_keypair_commands(cloud, tmp_path):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    done = run(cloud, tmp_path, "euca-create-keypair", name)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    kind, got_name, fingerprint = lines[0].split("\t")
    assert (kind, got_name) == ("KEYPAIR", name)
    assert lines[1] == "-----BEGIN RSA PRIVATE KEY-----"
    key = serialization.load_pem_private_key("\n".join(lines[1:]).encode(), None)
    pub = tmp_path / "k.pub"
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                  serialization.PublicFormat.OpenSSH))
    done = run(cloud, tmp_path, "euca-import-keypair", name + "-imp", "-f", str(pub))
    assert done.returncode == 0, done.stderr
    listed = run(cloud, tmp_path, "euca-describe-keypairs", name)
    assert listed.stdout.splitlines() == [f"KEYPAIR\t{name}\t{fingerprint}"]
    for key_name in (name, name + "-imp"):
        assert run(cloud, tmp_path, "euca-delete-keypair", key_name).returncode == 0
    missing = run(cloud, tmp_path, "euca-describe-keypairs", name)
    assert missing.returncode == 1 and "InvalidKeyPair.NotFound" in missing.stderr
