"""STS: GetCallerIdentity and GetSessionToken.

GetSessionToken issues a temporary key (``ASIA...``, a secret and a session token) tied to the
calling user; it authenticates as that user until ``Expiration`` (``lookup_credentials`` returns
its ``expires_at``; the gateway refuses it afterwards with ExpiredToken). DurationSeconds is
900..129600 (default 43200); an account root's tokens last at most an hour, as in AWS. Callers
already using temporary credentials are refused (AccessDenied). Expired keys of the user are
purged whenever it asks for a new one.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete

from eucalyptus import ids
from eucalyptus.aws.dispatch import RequestContext, operation
from eucalyptus.db.schema import AccessKey, utcnow
from eucalyptus.errors import AccessDenied, ValidationError
from eucalyptus.services.iam.entities import caller, caller_user, root_arn, utc

MIN_DURATION = 900
MAX_DURATION = 129600
DEFAULT_DURATION = 43200
ROOT_MAX_DURATION = 3600


@operation
def get_caller_identity(ctx: RequestContext, **_) -> dict:
    principal = caller(ctx)
    if principal.is_root:
        return {"UserId": principal.account_id, "Account": principal.account_id,
                "Arn": root_arn(principal.account_id)}
    return {"UserId": principal.user_id, "Account": principal.account_id, "Arn": principal.arn}


def _duration(value: int | str | None, is_root: bool) -> int:
    if value is None:
        return ROOT_MAX_DURATION if is_root else DEFAULT_DURATION
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"Invalid value '{value}' for DurationSeconds.") from None
    if seconds < MIN_DURATION:
        raise ValidationError(f"1 validation error detected: Value '{seconds}' at "
                              "'durationSeconds' failed to satisfy constraint: Member must have "
                              f"value greater than or equal to {MIN_DURATION}")
    if seconds > MAX_DURATION:
        raise ValidationError(f"1 validation error detected: Value '{seconds}' at "
                              "'durationSeconds' failed to satisfy constraint: Member must have "
                              f"value less than or equal to {MAX_DURATION}")
    return min(seconds, ROOT_MAX_DURATION) if is_root else seconds


@operation
def get_session_token(ctx: RequestContext, duration_seconds: int | None = None,
                      serial_number: str | None = None, token_code: str | None = None,
                      **_) -> dict:
    principal = caller(ctx)
    if principal.session_token:
        raise AccessDenied("Cannot call GetSessionToken with session credentials")
    if serial_number or token_code:
        raise AccessDenied("MFA devices are not supported by this cloud.")
    seconds = _duration(duration_seconds, principal.is_root)
    user = caller_user(ctx)
    now = utcnow()
    ctx.db.execute(delete(AccessKey).where(AccessKey.user_id == user.id,
                                           AccessKey.session_token.is_not(None),
                                           AccessKey.expires_at <= now))
    key_id = ids.access_key_id(temporary=True)
    while ctx.db.get(AccessKey, key_id) is not None:
        key_id = ids.access_key_id(temporary=True)
    key = AccessKey(id=key_id, secret=ids.secret_access_key(), user_id=user.id, active=True,
                    session_token=ids.session_token(), created_at=now,
                    expires_at=now + dt.timedelta(seconds=seconds))
    ctx.db.add(key)
    ctx.db.flush()
    return {"Credentials": {"AccessKeyId": key.id, "SecretAccessKey": key.secret,
                            "SessionToken": key.session_token,
                            "Expiration": utc(key.expires_at)}}
