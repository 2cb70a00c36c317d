"""euca-create-keypair, euca-import-keypair, euca-describe-keypairs, euca-delete-keypair.

Records::

    KEYPAIR  <name>  <fingerprint>
    <the private key, PEM>            (euca-create-keypair only: save it, it is shown once)

``euca-create-keypair NAME -f FILE`` writes the private key to FILE (mode 0600) instead of
printing it.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Iterable

from eucalyptus.cli.command import Command, Record, arg, call, filter_arg, filters_param
from eucalyptus.cli.connection import CommandError


def _write_private(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")


def _create_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    yield "KEYPAIR", response.get("KeyName"), response.get("KeyFingerprint")
    if args.file:
        _write_private(args.file, response["KeyMaterial"])
    else:
        yield response["KeyMaterial"].rstrip("\n")


def _pair_records(response: dict, args: argparse.Namespace) -> Iterable[Record]:
    for pair in response.get("KeyPairs", [response]):
        yield "KEYPAIR", pair.get("KeyName"), pair.get("KeyFingerprint")


def _import_build(args: argparse.Namespace) -> dict[str, Any]:
    try:
        return {"PublicKeyMaterial": Path(args.public_key_file).read_bytes()}
    except OSError as exc:
        raise CommandError(f"cannot read {args.public_key_file}: {exc.strerror}") from None


def _describe_build(args: argparse.Namespace) -> dict[str, Any]:
    return {"Filters": filters_param(args.filters)} if args.filters else {}


def _delete(connection, client, args: argparse.Namespace) -> dict:
    call(client, "DeleteKeyPair", KeyName=args.KeyName)
    return {"KeyName": args.KeyName}


create_keypair = Command(
    name="euca-create-keypair", service="ec2", operation="CreateKeyPair",
    help="Create a key pair; its private key is printed (or written with -f) once.",
    args=[arg("KeyName", param="KeyName", metavar="NAME"),
          arg("-t", "--type", param="KeyType", choices=("rsa", "ed25519"),
              help="key type (default rsa)"),
          arg("-f", "--file", help="write the private key to FILE (mode 0600)")],
    records=_create_records,
)

import_keypair = Command(
    name="euca-import-keypair", service="ec2", operation="ImportKeyPair",
    help="Import a public key (OpenSSH, RFC 4716 or PEM) as a key pair.",
    args=[arg("KeyName", param="KeyName", metavar="NAME"),
          arg("-f", "--public-key-file", required=True, help="the public key file")],
    build=_import_build,
    records=_pair_records,
)

describe_keypairs = Command(
    name="euca-describe-keypairs", service="ec2", operation="DescribeKeyPairs",
    help="Show key pairs and their fingerprints.",
    args=[arg("KeyNames", param="KeyNames", nargs="*", metavar="NAME"), filter_arg()],
    build=_describe_build,
    records=_pair_records,
    json_output=True,
)

delete_keypair = Command(
    name="euca-delete-keypair", service="ec2",
    help="Delete a key pair.",
    args=[arg("KeyName", metavar="NAME")],
    run=_delete,
    records=lambda response, args: [("KEYPAIR", response["KeyName"])],
)
