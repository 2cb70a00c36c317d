"""Where a command's requests go and whose keys sign them.

Every user command takes the same connection options and resolves them the same way, first
match wins:

endpoint      -U/--url; the eucarc variable of the service (EC2_URL for ec2, EUARE_URL or
              AWS_IAM_URL for iam, TOKEN_URL for sts, S3_URL for s3); AWS_ENDPOINT_URL_<SERVICE>;
              AWS_ENDPOINT_URL; the profile's ``services`` section or ``endpoint_url`` in the AWS
              config files. Nothing found is a :class:`CommandError`: a Eucalyptus command never
              falls back to Amazon's public endpoints.
credentials   -I/--access-key-id with -S/--secret-key (and --security-token); an explicit
              --profile; EC2_ACCESS_KEY with EC2_SECRET_KEY (and EC2_SECURITY_TOKEN); then
              botocore's own chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN,
              AWS_PROFILE, the shared credentials and config files). None found is a
              :class:`CommandError`.
region        --region; AWS_DEFAULT_REGION / AWS_REGION / the profile (botocore);
              otherwise :data:`DEFAULT_REGION`, Eucalyptus' default region name.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

import botocore.exceptions
import botocore.session
from botocore.config import Config
from botocore.credentials import Credentials

from eucalyptus.aws.specs import botocore_session_with_overlays

DEFAULT_REGION = "eucalyptus"

#: eucarc variables naming each service's endpoint, in the order they are consulted.
EUCARC_URL_VARIABLES: dict[str, tuple[str, ...]] = {
    "ec2": ("EC2_URL",),
    "iam": ("EUARE_URL", "AWS_IAM_URL"),
    "sts": ("TOKEN_URL",),
    "s3": ("S3_URL",),
}


class CommandError(Exception):
    """A problem found before or around a request (no endpoint, no keys, bad argument).

    The command prints it as one line, ``<prog>: error: <message>``, and exits 1.
    """


@lru_cache(maxsize=8)
def _model_loader(data_path: str | None) -> Any:
    """One model loader per botocore data path for the whole process, so that each service
    model is read from disk once however many commands or clients the process makes."""
    return botocore_session_with_overlays().get_component("data_loader")


def botocore_session(profile: str | None = None) -> botocore.session.Session:
    """A botocore session whose service models carry Eucalyptus' additions (the account
    operations of IAM, ...), with ``profile`` of the AWS config files if given."""
    session = botocore_session_with_overlays()
    session.register_component("data_loader",
                               _model_loader(session.get_config_variable("data_path")))
    if profile:
        session.set_config_variable("profile", profile)
    return session


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options every command shares (-U, --region, -I, -S, --profile, --debug)."""
    group = parser.add_argument_group("connection options")
    group.add_argument("-U", "--url", metavar="URL", help="the service's endpoint URL")
    group.add_argument("--region", metavar="REGION", help="region name used in signatures")
    group.add_argument("-I", "--access-key-id", metavar="KEY_ID", help="access key id")
    group.add_argument("-S", "--secret-key", metavar="SECRET", help="secret access key")
    group.add_argument("--security-token", metavar="TOKEN", help="session token of temporary keys")
    group.add_argument("--profile", metavar="PROFILE", help="profile of the AWS config files")
    group.add_argument("--debug", action="store_true",
                       help="print the wire log and a traceback on failure")


@dataclass
class Connection:
    """The resolved endpoint, region and credentials of one service."""
    service: str
    endpoint_url: str
    region: str
    credentials: Credentials
    session: botocore.session.Session

    def client(self, credentials: Credentials | None = None) -> Any:
        """A botocore client of this service, signing with ``credentials`` if given."""
        creds = credentials or self.credentials
        return self.session.create_client(
            self.service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=creds.secret_key,
            aws_session_token=creds.token,
            config=Config(retries={"mode": "standard"}, connect_timeout=10, read_timeout=120),
        )


def _first(environ: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def _configured_endpoint(session: botocore.session.Session, service: str) -> str | None:
    """The endpoint the active profile's config names for ``service``, if any."""
    try:
        scoped = session.get_scoped_config()
    except botocore.exceptions.ProfileNotFound as exc:
        raise CommandError(str(exc)) from exc
    section_name = scoped.get("services")
    if section_name:
        section = session.full_config.get("services", {}).get(section_name, {})
        url = section.get(service, {}).get("endpoint_url")
        if url:
            return url
    return scoped.get("endpoint_url")


def resolve_endpoint(service: str, args: argparse.Namespace, session: botocore.session.Session,
                     environ: Mapping[str, str]) -> str:
    """The endpoint URL of ``service`` by the order in the module docstring."""
    url = (getattr(args, "url", None)
           or _first(environ, EUCARC_URL_VARIABLES.get(service, ()))
           or _first(environ, (f"AWS_ENDPOINT_URL_{service.upper()}", "AWS_ENDPOINT_URL"))
           or _configured_endpoint(session, service))
    if not url:
        names = EUCARC_URL_VARIABLES.get(service, ()) + (f"AWS_ENDPOINT_URL_{service.upper()}",)
        raise CommandError(f"no {service} endpoint: use -U/--url or set {' or '.join(names)}")
    if "://" not in url:
        url = "http://" + url
    return url


def resolve_credentials(args: argparse.Namespace, session: botocore.session.Session,
                        environ: Mapping[str, str]) -> Credentials:
    """The signing credentials by the order in the module docstring."""
    key, secret = getattr(args, "access_key_id", None), getattr(args, "secret_key", None)
    if key or secret:
        if not (key and secret):
            raise CommandError("-I/--access-key-id and -S/--secret-key go together")
        return Credentials(key, secret, getattr(args, "security_token", None))
    if not getattr(args, "profile", None):
        key, secret = environ.get("EC2_ACCESS_KEY"), environ.get("EC2_SECRET_KEY")
        if key and secret:
            return Credentials(key, secret, environ.get("EC2_SECURITY_TOKEN") or None)
    try:
        found = session.get_credentials()
    except botocore.exceptions.BotoCoreError as exc:
        raise CommandError(str(exc)) from exc
    if found is None:
        raise CommandError("no credentials: use -I/-S, source an eucarc, or set "
                           "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE")
    frozen = found.get_frozen_credentials()
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


def resolve_region(args: argparse.Namespace, session: botocore.session.Session) -> str:
    region = getattr(args, "region", None)
    if region:
        return region
    try:
        return session.get_config_variable("region") or DEFAULT_REGION
    except botocore.exceptions.ProfileNotFound as exc:
        raise CommandError(str(exc)) from exc


def connect(service: str, args: argparse.Namespace,
            environ: Mapping[str, str] | None = None) -> tuple[Any, Connection]:
    """A botocore client of ``service`` for the options in ``args`` and the environment.

    Returns ``(client, connection)``; raises :class:`CommandError` when no endpoint or no
    credentials can be found.
    """
    environ = os.environ if environ is None else environ
    session = botocore_session(getattr(args, "profile", None))
    connection = Connection(
        service=service,
        endpoint_url=resolve_endpoint(service, args, session, environ),
        region=resolve_region(args, session),
        credentials=resolve_credentials(args, session, environ),
        session=session,
    )
    return connection.client(), connection
