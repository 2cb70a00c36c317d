"""Key pairs: CreateKeyPair, ImportKeyPair, DescribeKeyPairs, DeleteKeyPair.

A pair belongs to one account and is named uniquely in it. Only the public key is kept (as an
OpenSSH line, which instances receive through the metadata service); a created pair's private
key is in the CreateKeyPair response and nowhere else. Fingerprints follow AWS:

* RSA pair made here: SHA-1 of the private key's PKCS#8 DER, colon-separated hex;
* imported RSA key: MD5 of the public key's DER (SubjectPublicKeyInfo), colon-separated hex;
* ed25519 (made or imported): base64 of the SHA-256 of the OpenSSH public key blob.

``public_key_of(session, account_id, name)`` is what the instance launcher calls.
"""
from __future__ import annotations

import base64
import hashlib
import re

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from sqlalchemy import select

from eucalyptus import ids
from eucalyptus.aws import filters as filter_engine
from eucalyptus.aws.dispatch import operation
from eucalyptus.db.images import KeyPair
from eucalyptus.errors import ClientError, InvalidParameterValue, MissingParameter

KEY_TYPES = ("rsa", "ed25519")
RSA_BITS = 2048
IMPORT_RSA_BITS = (1024, 2048, 3072, 4096)
MAX_NAME = 255

KEYPAIR_FILTERS: filter_engine.FilterTable = {
    "key-pair-id": "KeyPairId",
    "key-name": "KeyName",
    "fingerprint": "KeyFingerprint",
    "key-type": "KeyType",
    **filter_engine.TAG_FILTERS,
}


def _not_found(what: str) -> ClientError:
    return ClientError("InvalidKeyPair.NotFound", f"The key pair '{what}' does not exist")


def _check_name(name: str | None) -> str:
    if not name or not name.strip():
        raise InvalidParameterValue("Value () for parameter keyName is invalid. "
                                    "Key name cannot be empty.")
    if len(name) > MAX_NAME or not name.isascii() or not name.isprintable():
        raise InvalidParameterValue(f"Value ({name}) for parameter keyName is invalid. "
                                    "Expecting up to 255 printable ASCII characters.")
    return name


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def _openssh(public_key) -> str:
    return public_key.public_bytes(serialization.Encoding.OpenSSH,
                                   serialization.PublicFormat.OpenSSH).decode()


def ed25519_fingerprint(openssh_line: str) -> str:
    blob = base64.b64decode(openssh_line.split()[1])
    return base64.b64encode(hashlib.sha256(blob).digest()).decode()


def imported_rsa_fingerprint(public_key: rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return _colon_hex(hashlib.md5(der).digest())


def created_rsa_fingerprint(private_key: rsa.RSAPrivateKey) -> str:
    der = private_key.private_bytes(serialization.Encoding.DER,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return _colon_hex(hashlib.sha1(der).digest())


def new_key(key_type: str) -> tuple[str, str, str]:
    """A new pair of ``key_type``: (private key PEM, OpenSSH public line, fingerprint)."""
    if key_type == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
        material = private.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.OpenSSH,
                                         serialization.NoEncryption()).decode()
        line = _openssh(private.public_key())
        return material, line, ed25519_fingerprint(line)
    private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    material = private.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption()).decode()
    return material, _openssh(private.public_key()), created_rsa_fingerprint(private)


def _rfc4716_to_openssh(text: str) -> str | None:
    """The OpenSSH line of an RFC 4716 ("---- BEGIN SSH2 PUBLIC KEY ----") file, if it is one."""
    match = re.search(r"---- BEGIN SSH2 PUBLIC KEY ----(.*?)---- END SSH2 PUBLIC KEY ----",
                      text, re.DOTALL)
    if not match:
        return None
    lines, body, continued = match.group(1).strip().splitlines(), [], False
    for line in lines:
        if continued or (":" in line and not body):
            continued = line.endswith("\\")
            continue
        body.append(line.strip())
    blob = "".join(body)
    try:
        raw = base64.b64decode(blob, validate=True)
        kind = raw[4:4 + int.from_bytes(raw[:4], "big")].decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return f"{kind} {blob}"


def parse_public_key(material: bytes | str) -> tuple[str, str, str]:
    """An imported public key as (key type, OpenSSH line, fingerprint); InvalidKey.Format
    unless it is an RSA or ed25519 key in OpenSSH, RFC 4716 or PEM/DER form."""
    raw = material if isinstance(material, bytes) else material.encode()
    text = raw.decode("utf-8", "replace").strip()
    key = None
    candidates = [text.encode()]
    rfc = _rfc4716_to_openssh(text)
    if rfc:
        candidates.insert(0, rfc.encode())
    for candidate in candidates:
        for loader in (serialization.load_ssh_public_key, serialization.load_pem_public_key,
                       serialization.load_der_public_key):
            try:
                key = loader(candidate)
                break
            except (ValueError, TypeError, UnsupportedAlgorithm):
                continue
        if key is not None:
            break
    if key is None:
        try:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
        except (ValueError, TypeError, UnsupportedAlgorithm):
            key = None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size not in IMPORT_RSA_BITS:
            raise ClientError("InvalidKey.Format", "Key is not in valid OpenSSH public key "
                              f"format: RSA keys of {key.key_size} bits are not supported")
        return "rsa", _openssh(key), imported_rsa_fingerprint(key)
    if isinstance(key, ed25519.Ed25519PublicKey):
        line = _openssh(key)
        return "ed25519", line, ed25519_fingerprint(line)
    raise ClientError("InvalidKey.Format", "Key is not in valid OpenSSH public key format")


def _store(ctx, name: str, key_type: str, line: str, fingerprint: str) -> KeyPair:
    existing = ctx.db.scalar(select(KeyPair).where(KeyPair.account_id == ctx.account_id,
                                                   KeyPair.name == name))
    if existing is not None:
        raise ClientError("InvalidKeyPair.Duplicate", f"The keypair '{name}' already exists.")
    row = KeyPair(id=ids.ec2_id("keypair", long=True), account_id=ctx.account_id, name=name,
                  key_type=key_type, fingerprint=fingerprint, public_key=line)
    ctx.db.add(row)
    ctx.db.flush()
    return row


@operation
def create_key_pair(ctx, key_name: str, key_type: str | None = None,
                    key_format: str | None = None, **_) -> dict:
    """CreateKeyPair: a new RSA (default) or ed25519 pair; the private key (PEM) is returned
    once. InvalidKeyPair.Duplicate when the name is taken in the account."""
    name = _check_name(key_name)
    key_type = key_type or "rsa"
    if key_type not in KEY_TYPES:
        raise InvalidParameterValue(f"Value ({key_type}) for parameter keyType is invalid. "
                                    "Valid values are rsa and ed25519.")
    if key_format not in (None, "pem"):
        raise InvalidParameterValue(f"Value ({key_format}) for parameter keyFormat is invalid. "
                                    "Only pem is supported.")
    material, line, fingerprint = new_key(key_type)
    row = _store(ctx, name, key_type, line, fingerprint)
    return {"KeyName": row.name, "KeyFingerprint": row.fingerprint, "KeyMaterial": material,
            "KeyPairId": row.id}


@operation
def import_key_pair(ctx, key_name: str, public_key_material: bytes, **_) -> dict:
    """ImportKeyPair: an RSA or ed25519 public key (OpenSSH, RFC 4716, PEM or DER)."""
    name = _check_name(key_name)
    key_type, line, fingerprint = parse_public_key(public_key_material or b"")
    row = _store(ctx, name, key_type, line, fingerprint)
    return {"KeyName": row.name, "KeyFingerprint": row.fingerprint, "KeyPairId": row.id}


def _item(row: KeyPair, include_public: bool) -> dict:
    item = {"KeyPairId": row.id, "KeyName": row.name, "KeyFingerprint": row.fingerprint,
            "KeyType": row.key_type, "CreateTime": row.created_at, "Tags": []}
    if include_public:
        item["PublicKey"] = row.public_key
    return item


@operation
def describe_key_pairs(ctx, key_names: list[str] | None = None,
                       key_pair_ids: list[str] | None = None,
                       include_public_key: bool | None = None,
                       filters: list[dict] | None = None, **_) -> dict:
    """DescribeKeyPairs: the account's pairs; a named pair or id that does not exist is
    InvalidKeyPair.NotFound."""
    filter_engine.validate(filters, KEYPAIR_FILTERS)
    rows = ctx.db.scalars(select(KeyPair).where(KeyPair.account_id == ctx.account_id)
                          .order_by(KeyPair.name)).all()
    by_name = {r.name: r for r in rows}
    by_id = {r.id: r for r in rows}
    for name in key_names or []:
        if name not in by_name:
            raise _not_found(name)
    for key_id in key_pair_ids or []:
        if key_id not in by_id:
            raise ClientError("InvalidKeyPair.NotFound",
                              f"The key pair ID '{key_id}' does not exist")
    if key_names:
        rows = [r for r in rows if r.name in set(key_names)]
    if key_pair_ids:
        rows = [r for r in rows if r.id in set(key_pair_ids)]
    items = [_item(r, bool(include_public_key)) for r in rows]
    return {"KeyPairs": filter_engine.apply(items, filters, KEYPAIR_FILTERS)}


@operation
def delete_key_pair(ctx, key_name: str | None = None, key_pair_id: str | None = None,
                    **_) -> dict:
    """DeleteKeyPair by name or id; deleting a pair that does not exist succeeds, as in AWS."""
    if not key_name and not key_pair_id:
        raise MissingParameter("The request must contain the parameter KeyName or KeyPairId")
    query = select(KeyPair).where(KeyPair.account_id == ctx.account_id)
    query = query.where(KeyPair.id == key_pair_id) if key_pair_id else \
        query.where(KeyPair.name == key_name)
    row = ctx.db.scalar(query)
    out: dict = {"Return": True}
    if row is not None:
        out["KeyPairId"] = row.id
        ctx.db.delete(row)
        ctx.db.flush()
    return out


def public_key_of(session, account_id: str, name: str) -> str:
    """The OpenSSH public key of ``account_id``'s pair ``name``; InvalidKeyPair.NotFound."""
    row = session.scalar(select(KeyPair).where(KeyPair.account_id == account_id,
                                               KeyPair.name == name))
    if row is None:
        raise _not_found(name)
    return row.public_key
