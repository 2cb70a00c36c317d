"""``eucalyptus properties`` (Eucalyptus' euctl) and ``eucalyptus credentials``.

Both ask the cloud controller over the internal API, signed with the admin key.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from eucalyptus import credentials
from eucalyptus.cli.admin_rpc import call
from eucalyptus.config import Settings
from eucalyptus.images.certificates import cloud_certificate_pem
from eucalyptus.rpc.messages import (CredentialsGrant, CredentialsQuery, PropertyList,
                                     PropertyQuery, PropertyUpdate)


def properties(settings: Settings, args: list[str], describe: bool = False,
               out: TextIO = sys.stdout) -> int:
    """``NAME`` reads, ``NAME=VALUE`` sets (all sets at once, validated first); none: all."""
    updates = dict(a.split("=", 1) for a in args if "=" in a)
    reads = [a for a in args if "=" not in a]
    shown = []
    if updates:
        shown += call(settings, "clc", "POST", "properties/set", PropertyUpdate(updates),
                      reply=PropertyList).properties
    if reads or not updates:
        shown += call(settings, "clc", "POST", "properties", PropertyQuery(reads),
                      reply=PropertyList).properties
    for p in shown:
        print(f"{p.name} = {p.value}", file=out)
        if describe:
            print(f"    {p.type}, default {p.default}: {p.description}", file=out)
    return 0


def user_credentials(settings: Settings, account: str, user: str,
                     output: Path | None, out: TextIO = sys.stdout) -> int:
    """Write ``account``/``user``'s eucarc + AWS CLI profile zip (a key is made if none)."""
    grant = call(settings, "clc", "POST", "credentials", CredentialsQuery(account, user),
                 reply=CredentialsGrant)
    creds = credentials.UserCredentials(
        account_name=account, account_id=grant.account_id, user_name=user, arn=grant.arn,
        access_key_id=grant.access_key_id, secret_access_key=grant.secret_access_key,
        region=settings.region, urls=settings.service_urls(),
        cloud_cert=cloud_certificate_pem(settings.data_dir))
    path = credentials.write_zip(creds, output or Path(f"{account}-{user}.zip"))
    print(f"wrote {path} (eucarc, aws-config, aws-credentials) for {grant.arn}", file=out)
    return 0
