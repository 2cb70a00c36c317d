"""Ed25519 keys of the components: ``DIR/keys/<name>.pem`` (private) and ``<name>.pub``.

Each component, and the ``admin`` command, has its own key pair made at ``eucalyptus init``.
A server trusts exactly the public keys found in its ``DIR/keys`` directory; the key's file
name is the caller's name.
"""
from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                               Ed25519PublicKey)

PRINCIPALS = ("clc", "walrus", "sc", "cc", "nc", "admin")


def key_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "keys"


def make_key(data_dir: Path, name: str) -> bool:
    """Create ``name``'s key pair unless it exists; True when a new pair was written."""
    keys = key_dir(data_dir)
    keys.mkdir(parents=True, exist_ok=True)
    pem, pub = keys / f"{name}.pem", keys / f"{name}.pub"
    if pem.exists() and pub.exists():
        return False
    private = Ed25519PrivateKey.generate()
    data = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    fd = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    pub.write_bytes(private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return True


def load_private(data_dir: Path, name: str) -> Ed25519PrivateKey:
    """``name``'s private key; FileNotFoundError when this host does not hold it."""
    key = serialization.load_pem_private_key((key_dir(data_dir) / f"{name}.pem").read_bytes(),
                                             password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{name}.pem is not an Ed25519 key")
    return key


def load_public_keys(data_dir: Path) -> dict[str, Ed25519PublicKey]:
    """Every trusted public key in ``DIR/keys``, by caller name."""
    out: dict[str, Ed25519PublicKey] = {}
    directory = key_dir(data_dir)
    if not directory.is_dir():
        return out
    for path in sorted(directory.glob("*.pub")):
        key = serialization.load_pem_public_key(path.read_bytes())
        if isinstance(key, Ed25519PublicKey):
            out[path.stem] = key
    return out
