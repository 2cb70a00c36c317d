"""What one instance's metadata looks like: validated documents and the EC2 path tree.

A metadata *document* is the dict that ``put_instance_metadata`` carries, keyed by EC2's own
metadata names:

    {"ami-id": "emi-1a2b3c4d", "reservation-id": "r-...", "instance-type": "t1.micro",
     "hostname": "...", "local-hostname": "...", "public-hostname": "...", "public-ipv4": "...",
     "ami-launch-index": "0", "ami-manifest-path": "...", "kernel-id": "...", "ramdisk-id": "...",
     "mac": "d0:0d:...", "instance-action": "none",
     "security-groups": ["default"],                              # a list: one per line
     "placement": {"availability-zone": "eucalyptus-1a", "region": "eucalyptus"},
     "public-keys": {"my-key": "ssh-ed25519 AAAA..."},             # name -> OpenSSH key
     "block-device-mapping": {"ami": "/dev/sda1", "root": "/dev/sda1"},
     "user-data": "<base64>",                                     # served at /user-data
     "account-id": "123456789012", "architecture": "x86_64",      # identity document only
     "pending-time": "2024-01-01T00:00:00Z",
     "http-tokens": "optional" | "required"}                      # IMDSv2 enforcement

Every key is optional; ``instance-id`` and ``local-ipv4`` come from the call itself. Unknown
keys or wrong types raise ValidationError. ``build_tree`` turns a record into nested dicts
(directories) and strings (leaves); ``render`` answers one path of it.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from eucalyptus.errors import ValidationError

STRING_KEYS = {"ami-id", "ami-launch-index", "ami-manifest-path", "hostname", "local-hostname",
               "public-hostname", "public-ipv4", "instance-type", "reservation-id",
               "kernel-id", "ramdisk-id", "mac", "instance-action"}
LIST_KEYS = {"security-groups"}
MAP_KEYS = {"placement": {"availability-zone", "region"},
            "public-keys": None, "block-device-mapping": None}
OTHER_KEYS = {"user-data", "account-id", "architecture", "pending-time", "http-tokens"}
FROM_CALL = {"instance-id", "local-ipv4"}

#: metadata versions EC2 answers to; each is an alias of ``latest``
VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
            "2008-02-01", "2008-09-01", "2009-04-04", "2011-01-01", "2011-05-01", "2012-01-12",
            "2014-02-25", "2014-11-05", "2015-10-20", "2016-04-19", "2016-06-30",
            "2016-09-02", "2018-03-28", "2018-08-17", "2018-09-24", "2019-10-01",
            "2020-10-27", "2021-01-03", "2021-03-23", "2021-07-15", "2022-09-24", "latest")


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError(f"metadata {where} must be a string")
    return str(value)


def check_document(document: Any) -> dict[str, Any]:
    """A normalised copy of ``document``; ValidationError naming the first bad key."""
    if not isinstance(document, dict):
        raise ValidationError("the metadata document must be an object")
    out: dict[str, Any] = {}
    for key, value in document.items():
        if key in FROM_CALL:
            raise ValidationError(f"metadata {key} is set from the call, not the document")
        if key in STRING_KEYS or key in OTHER_KEYS:
            out[key] = _text(value, key)
        elif key in LIST_KEYS:
            if not isinstance(value, list):
                raise ValidationError(f"metadata {key} must be a list of strings")
            out[key] = [_text(v, key) for v in value]
        elif key in MAP_KEYS:
            allowed = MAP_KEYS[key]
            if not isinstance(value, dict):
                raise ValidationError(f"metadata {key} must be an object")
            for name, item in value.items():
                if allowed is not None and name not in allowed:
                    raise ValidationError(f"metadata {key} has no entry {name!r}")
                if not isinstance(name, str) or not name or "/" in name:
                    raise ValidationError(f"metadata {key} entry names must be plain words")
                _text(item, f"{key}/{name}")
            out[key] = {name: str(item) for name, item in value.items()}
        else:
            raise ValidationError(f"unknown metadata key {key!r}")
    if "user-data" in out:
        try:
            base64.b64decode(out["user-data"], validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("metadata user-data must be base64") from None
    if out.get("http-tokens", "optional") not in ("optional", "required"):
        raise ValidationError("metadata http-tokens must be optional or required")
    return out


@dataclass
class Record:
    """One instance's registered metadata."""
    instance_id: str
    private_ip: str
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens_required(self) -> bool:
        return self.document.get("http-tokens") == "required"

    def user_data(self) -> bytes | None:
        encoded = self.document.get("user-data")
        return base64.b64decode(encoded) if encoded else None

    def identity_document(self) -> dict[str, Any]:
        d = self.document
        return {"accountId": d.get("account-id", ""),
                "architecture": d.get("architecture", "x86_64"),
                "availabilityZone": d.get("placement", {}).get("availability-zone", ""),
                "billingProducts": None, "devpayProductCodes": None,
                "marketplaceProductCodes": None, "imageId": d.get("ami-id", ""),
                "instanceId": self.instance_id, "instanceType": d.get("instance-type", ""),
                "kernelId": d.get("kernel-id") or None, "ramdiskId": d.get("ramdisk-id") or None,
                "pendingTime": d.get("pending-time", ""), "privateIp": self.private_ip,
                "region": d.get("placement", {}).get("region", ""), "version": "2017-09-30"}


class Listing(dict):
    """A directory whose index text is not simply its entry names (public-keys/)."""

    def __init__(self, entries: dict, index: str):
        super().__init__(entries)
        self.index = index


def build_tree(record: Record) -> dict[str, Any]:
    """``{"meta-data": {...}, "dynamic": {...}, "user-data": bytes?}`` for ``record``: the
    tree under a version, whose own index is ``dynamic meta-data [user-data]``."""
    d = record.document
    meta: dict[str, Any] = {"instance-id": record.instance_id, "local-ipv4": record.private_ip}
    for key in STRING_KEYS:
        if d.get(key):
            meta[key] = d[key]
    if "security-groups" in d:
        meta["security-groups"] = "\n".join(d["security-groups"])
    if d.get("placement"):
        meta["placement"] = dict(d["placement"])
    if d.get("block-device-mapping"):
        meta["block-device-mapping"] = dict(d["block-device-mapping"])
    keys = list(d.get("public-keys", {}).items())
    if keys:
        meta["public-keys"] = Listing(
            {str(i): {"openssh-key": key} for i, (_name, key) in enumerate(keys)},
            "\n".join(f"{i}={name}" for i, (name, _key) in enumerate(keys)))
    tree: dict[str, Any] = {
        "meta-data": meta,
        "dynamic": {"instance-identity": {
            "document": json.dumps(record.identity_document(), indent=2)}},
    }
    user_data = record.user_data()
    if user_data is not None:
        tree["user-data"] = user_data
    return Listing(tree, "\n".join(sorted(tree)))      # EC2 lists these without slashes


def index_text(directory: dict) -> str:
    if isinstance(directory, Listing):
        return directory.index
    return "\n".join(f"{name}/" if isinstance(node, dict) else name
                     for name, node in sorted(directory.items()))


def render(tree: dict, parts: list[str]) -> str | bytes | None:
    """The answer for path ``parts`` under a version (``[]`` is the version's index), or None
    when nothing lives there. Directories answer with their index, with or without a slash."""
    node: Any = tree
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return index_text(node) if isinstance(node, dict) else node
