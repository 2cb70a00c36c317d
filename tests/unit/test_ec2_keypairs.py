"""Key pairs: create (rsa, ed25519), import, describe with AWS fingerprints, delete."""
import asyncio
import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from eucalyptus.aws.dispatch import DispatchTable
from eucalyptus.db.engine import Database, sqlite_url
from eucalyptus.db.schema import Account
from eucalyptus.errors import ServiceError
from eucalyptus.services import ec2
from eucalyptus.services.ec2.keypairs import public_key_of
from tests.fakes.clc_component import request_context

TABLE = DispatchTable("ec2", ec2.HANDLER_MODULES)
A, B = "111111111111", "222222222222"


@pytest.fixture
def session(tmp_path):
    db = Database(sqlite_url(tmp_path / "db.sqlite"))
    with db.session() as s:
        s.add_all([Account(id=A, name="a"), Account(id=B, name="b")])
        s.flush()
        yield s
    db.dispose()


def call(session, op, account=A, **params):
    ctx = request_context(session, operation=op, account_id=account)
    return asyncio.run(TABLE.call(ctx, params))


def code(session, op, account=A, **params):
    with pytest.raises(ServiceError) as err:
        call(session, op, account, **params)
    return err.value.code


def test_create_rsa_fingerprint_is_sha1_of_pkcs8(session):
    out = call(session, "CreateKeyPair", KeyName="k1")
    key = serialization.load_pem_private_key(out["KeyMaterial"].encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert out["KeyMaterial"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    assert out["KeyFingerprint"] == ":".join(f"{b:02x}" for b in hashlib.sha1(der).digest())
    assert out["KeyPairId"].startswith("key-")
    pairs = call(session, "DescribeKeyPairs")["KeyPairs"]
    assert [(p["KeyName"], p["KeyFingerprint"], p["KeyType"]) for p in pairs] == [
        ("k1", out["KeyFingerprint"], "rsa")]
    assert "KeyMaterial" not in pairs[0]
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    assert public_key_of(session, A, "k1") == public


def test_create_ed25519_fingerprint_is_base64_sha256(session):
    out = call(session, "CreateKeyPair", KeyName="k2", KeyType="ed25519")
    key = serialization.load_ssh_private_key(out["KeyMaterial"].encode(), None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    blob = base64.b64decode(key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).split()[1])
    assert out["KeyFingerprint"] == base64.b64encode(hashlib.sha256(blob).digest()).decode()


def test_import_rsa_fingerprint_is_md5_of_public_der(session):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    line = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                         serialization.PublicFormat.OpenSSH) + b" me@host"
    out = call(session, "ImportKeyPair", KeyName="imp", PublicKeyMaterial=line)
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    assert out["KeyFingerprint"] == ":".join(f"{b:02x}" for b in hashlib.md5(der).digest())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    again = call(session, "ImportKeyPair", KeyName="imp-pem", PublicKeyMaterial=pem)
    assert again["KeyFingerprint"] == out["KeyFingerprint"]


def test_import_rfc4716_and_ed25519(session):
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    blob = key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).split()[1].decode()
    rfc = ("---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"test\"\n" + blob[:40] + "\n" + blob[40:]
           + "\n---- END SSH2 PUBLIC KEY ----\n")
    out = call(session, "ImportKeyPair", KeyName="e", PublicKeyMaterial=rfc.encode())
    pairs = call(session, "DescribeKeyPairs", KeyNames=["e"], IncludePublicKey=True)["KeyPairs"]
    assert pairs[0]["KeyType"] == "ed25519" and pairs[0]["PublicKey"].split()[1] == blob
    assert pairs[0]["KeyFingerprint"] == out["KeyFingerprint"]


@pytest.mark.parametrize("material", [b"", b"ssh-rsa notbase64!!", b"hello world",
                                      "ecdsa"])
def test_import_bad_material(session, material):
    if material == "ecdsa":
        material = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    assert code(session, "ImportKeyPair", KeyName="bad", PublicKeyMaterial=material) == \
        "InvalidKey.Format"


def test_duplicates_isolation_and_delete(session):
    call(session, "CreateKeyPair", KeyName="same")
    assert code(session, "CreateKeyPair", KeyName="same") == "InvalidKeyPair.Duplicate"
    call(session, "CreateKeyPair", KeyName="same", account=B)      # other account: fine
    assert code(session, "DescribeKeyPairs", account=B, KeyNames=["nope"]) == \
        "InvalidKeyPair.NotFound"
    assert [p["KeyName"] for p in call(session, "DescribeKeyPairs", account=B)["KeyPairs"]] == \
        ["same"]
    assert call(session, "DeleteKeyPair", KeyName="same")["Return"] is True
    assert call(session, "DeleteKeyPair", KeyName="same")["Return"] is True   # idempotent
    assert call(session, "DescribeKeyPairs")["KeyPairs"] == []
    assert len(call(session, "DescribeKeyPairs", account=B)["KeyPairs"]) == 1
    assert code(session, "DescribeKeyPairs", Filters=[{"Name": "bogus", "Values": ["x"]}]) == \
        "InvalidParameterValue"


def test_filters_and_ids(session):
    a = call(session, "CreateKeyPair", KeyName="alpha")
    call(session, "CreateKeyPair", KeyName="beta", KeyType="ed25519")
    got = call(session, "DescribeKeyPairs", Filters=[{"Name": "key-type", "Values": ["ed*"]}])
    assert [p["KeyName"] for p in got["KeyPairs"]] == ["beta"]
    got = call(session, "DescribeKeyPairs", KeyPairIds=[a["KeyPairId"]])
    assert [p["KeyName"] for p in got["KeyPairs"]] == ["alpha"]
    assert call(session, "DeleteKeyPair", KeyPairId=a["KeyPairId"])["KeyPairId"] == a["KeyPairId"]
    assert code(session, "CreateKeyPair", KeyName="x", KeyType="dsa") == "InvalidParameterValue"
