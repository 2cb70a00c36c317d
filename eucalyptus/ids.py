"""Resource identifiers in the shapes AWS and Eucalyptus use.

EC2 ids are a prefix and 8 (classic) or 17 hex digits; IAM ids are a 4-letter prefix and 17
base32-ish upper-case characters; account ids are 12 digits; access keys are 20 characters and
secrets 40.
"""
from __future__ import annotations

import secrets
import string
import uuid

EC2_PREFIXES = {
    "instance": "i", "reservation": "r", "image": "emi", "kernel": "eki", "ramdisk": "eri",
    "volume": "vol", "snapshot": "snap", "security-group": "sg", "allocation": "eipalloc",
    "association": "eipassoc", "keypair": "key", "vpc": "vpc", "subnet": "subnet",
}

IAM_PREFIXES = {
    "user": "AIDA", "group": "AGPA", "role": "AROA", "policy": "ANPA", "access-key": "AKIA",
    "temporary-key": "ASIA", "instance-profile": "AIPA",
}

_UPPER_DIGITS = string.ascii_uppercase + "234567"
_SECRET_CHARS = string.ascii_letters + string.digits + "+/"


def ec2_id(kind: str, long: bool = False) -> str:
    """A new EC2 id such as ``i-1a2b3c4d`` (or 17 hex digits with ``long``)."""
    return f"{EC2_PREFIXES[kind]}-{secrets.token_hex(9 if long else 4)[:17 if long else 8]}"


def iam_id(kind: str) -> str:
    """A new IAM unique id such as ``AIDA...`` (21 characters in all) or an access key id."""
    prefix = IAM_PREFIXES[kind]
    return prefix + "".join(secrets.choice(_UPPER_DIGITS) for _ in range(20 - len(prefix) + 1))


def access_key_id(temporary: bool = False) -> str:
    """A 20-character access key id: AKIA... for long-term keys, ASIA... for temporary ones."""
    prefix = IAM_PREFIXES["temporary-key" if temporary else "access-key"]
    return prefix + "".join(secrets.choice(_UPPER_DIGITS) for _ in range(16))


def secret_access_key() -> str:
    return "".join(secrets.choice(_SECRET_CHARS) for _ in range(40))


def session_token() -> str:
    return secrets.token_urlsafe(96)


def account_id() -> str:
    """A 12-digit account number that does not start with 0."""
    return str(secrets.randbelow(9 * 10**11) + 10**11)


def request_id() -> str:
    return str(uuid.uuid4())
