"""``eucalyptus init``: make a data directory ready to run a cloud.

Creates DIR/eucalyptus.conf (the documented example, plus any explicit settings), the
directories, one Ed25519 key pair per component and for the admin command, the database
(migrated), the cloud admin (account "eucalyptus", user admin) and the instance types, then
writes the admin's credentials to DIR/credentials. Running it again only fills in what is
missing; the admin's existing key is kept.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, TextIO

from eucalyptus import credentials
from eucalyptus.config import (CONF_NAME, INIT_MARKER, Settings, example_text, load_settings,
                               update_conf)
from eucalyptus.db.engine import Database
from eucalyptus.images.certificates import cloud_certificate_pem, ensure_cloud_certificate
from eucalyptus.rpc.keys import PRINCIPALS, make_key

DIRECTORIES = ("db", "keys", "log", "run", "credentials")
ADMIN_ACCOUNT, ADMIN_USER = "eucalyptus", "admin"


def write_conf(data_dir: Path, overrides: Mapping[str, str]) -> Path:
    """Create DIR/eucalyptus.conf from the example, or set ``overrides`` in an existing one."""
    conf = data_dir / CONF_NAME
    if not conf.exists():
        explicit = "".join(f'{k}="{v}"\n' for k, v in overrides.items())
        conf.write_text(example_text() + ("\n# --- set for this data directory\n" + explicit
                                          if explicit else ""))
    elif overrides:
        update_conf(conf, overrides)
    return conf


def admin_credentials(settings: Settings, account_id: str, key_id: str,
                      secret: str) -> credentials.UserCredentials:
    return credentials.UserCredentials(
        account_name=ADMIN_ACCOUNT, account_id=account_id, user_name=ADMIN_USER,
        arn=f"arn:aws:iam::{account_id}:user/{ADMIN_USER}", access_key_id=key_id,
        secret_access_key=secret, region=settings.region, urls=settings.service_urls(),
        cloud_cert=cloud_certificate_pem(settings.data_dir))


def init(data_dir: Path, overrides: Mapping[str, str] | None = None,
         out: TextIO | None = None) -> Settings:
    """Initialise (or complete) ``data_dir``; the validated settings. Idempotent."""
    from eucalyptus.services.ec2 import instance_types
    from eucalyptus.services.iam import identity

    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    write_conf(data_dir, overrides or {})
    settings = load_settings(data_dir)
    for name in DIRECTORIES:
        (data_dir / name).mkdir(exist_ok=True)
    made = [name for name in PRINCIPALS if make_key(data_dir, name)]
    if ensure_cloud_certificate(data_dir):
        made.append("cloud certificate")
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            account_id, key_id, secret = identity.bootstrap(session)
        with db.session() as session:
            instance_types.seed(session)
    finally:
        db.dispose()
    eucarc = credentials.write_directory(admin_credentials(settings, account_id, key_id, secret),
                                         data_dir / "credentials")
    (data_dir / INIT_MARKER).write_text("")
    if out is not None:
        print(f"initialised {data_dir}", file=out)
        if made:
            print(f"  keys made: {', '.join(made)} (in {data_dir / 'keys'})", file=out)
        print(f"  database: {db.engine.url.render_as_string(hide_password=True)}", file=out)
        print(f"  cloud admin: account {ADMIN_ACCOUNT} ({account_id}), user {ADMIN_USER}",
              file=out)
        print(f"  credentials: {eucarc}", file=out)
    return settings
