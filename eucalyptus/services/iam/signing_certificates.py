"""Signing certificates: UploadSigningCertificate, ListSigningCertificates,
UpdateSigningCertificate, DeleteSigningCertificate.

A user's X.509 certificates (PEM) with which image bundle manifests are signed: RegisterImage
accepts a bundle only when its manifest's signature verifies with an active certificate of a
user of the registering account (``certificates_of_account``). Without UserName these act on
the caller's own user. The certificate id is the hex SHA-1 of the account id and the
certificate's DER bytes, so within an account one certificate belongs to one user only
(DuplicateCertificate otherwise). A user holds at most
two (LimitExceeded), as AWS allows.
"""
from __future__ import annotations

import hashlib

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from eucalyptus.aws.dispatch import RequestContext, operation
from eucalyptus.db.images import SigningCertificate
from eucalyptus.db.schema import User
from eucalyptus.errors import ClientError, LimitExceeded, NotFound
from eucalyptus.images import certificates
from eucalyptus.services.iam.entities import is_active, target_user, utc

CERTIFICATES_PER_USER = 2


def _parse(body: str | None):
    try:
        return certificates.load_certificate((body or "").strip())
    except ValueError:
        raise ClientError("MalformedCertificate", "The certificate is not a valid X.509 "
                          "certificate in PEM format") from None


def _shape(user_name: str, row: SigningCertificate) -> dict:
    return {"UserName": user_name, "CertificateId": row.id, "CertificateBody": row.body,
            "Status": "Active" if row.active else "Inactive",
            "UploadDate": utc(row.uploaded_at)}


def certificates_of_account(db: Session, account_id: str) -> list:
    """The active certificates (``x509.Certificate``) of every user of ``account_id``."""
    users = select(User.id).where(User.account_id == account_id)
    rows = db.scalars(select(SigningCertificate.body).where(
        SigningCertificate.account_id == account_id, SigningCertificate.active.is_(True),
        SigningCertificate.user_id.in_(users))).all()
    out = []
    for body in rows:
        try:
            out.append(certificates.load_certificate(body))
        except ValueError:
            continue
    return out


def _owned(ctx: RequestContext, user_name: str | None, certificate_id: str | None):
    user = target_user(ctx, user_name)
    row = ctx.db.get(SigningCertificate, (certificate_id or "").lower())
    if row is None or row.user_id != user.id:
        raise NotFound(f"The Certificate with id {certificate_id} cannot be found.")
    return user, row


@operation
def upload_signing_certificate(ctx: RequestContext, certificate_body: str | None = None,
                               user_name: str | None = None, **_) -> dict:
    user = target_user(ctx, user_name)
    cert = _parse(certificate_body)
    der = cert.public_bytes(serialization.Encoding.DER)
    cert_id = hashlib.sha1(user.account_id.encode() + der).hexdigest()
    if ctx.db.get(SigningCertificate, cert_id) is not None:
        raise ClientError("DuplicateCertificate", f"The certificate {cert_id} is already in use",
                          status=409)
    count = ctx.db.scalar(select(sa.func.count()).select_from(SigningCertificate).where(
        SigningCertificate.user_id == user.id))
    if count >= CERTIFICATES_PER_USER:
        raise LimitExceeded("Cannot exceed quota for CertificatesPerUser: "
                            f"{CERTIFICATES_PER_USER}")
    row = SigningCertificate(id=cert_id, account_id=user.account_id, user_id=user.id,
                             body=certificates.cert_pem(cert).decode(), active=True)
    ctx.db.add(row)
    ctx.db.flush()
    return {"Certificate": _shape(user.name, row)}


@operation
def list_signing_certificates(ctx: RequestContext, user_name: str | None = None, **_) -> dict:
    user = target_user(ctx, user_name)
    rows = ctx.db.scalars(select(SigningCertificate).where(
        SigningCertificate.user_id == user.id).order_by(SigningCertificate.id)).all()
    return {"Certificates": [_shape(user.name, r) for r in rows], "IsTruncated": False}


@operation
def update_signing_certificate(ctx: RequestContext, certificate_id: str | None = None,
                               status: str | None = None, user_name: str | None = None,
                               **_) -> dict:
    active = is_active(status)
    _user, row = _owned(ctx, user_name, certificate_id)
    row.active = active
    ctx.db.flush()
    return {}


@operation
def delete_signing_certificate(ctx: RequestContext, certificate_id: str | None = None,
                               user_name: str | None = None, **_) -> dict:
    _user, row = _owned(ctx, user_name, certificate_id)
    ctx.db.delete(row)
    ctx.db.flush()
    return {}
