"""Eucalyptus' DescribeServiceCertificates: the certificate image bundles are encrypted for.

Users bundling off-cloud fetch it here (or take ``cloud-cert.pem`` from their credentials).
``Format`` is ``pem`` (default) or ``der`` (base64 of the DER bytes); the fingerprint is the
colon-separated hex digest of the DER bytes with ``FingerprintDigest`` SHA-256 (default) or
SHA-1.
"""
from __future__ import annotations

import base64

from cryptography.hazmat.primitives import hashes, serialization

from eucalyptus.aws.dispatch import operation
from eucalyptus.errors import InvalidParameterValue, ServiceUnavailable
from eucalyptus.images import certificates

DIGESTS = {"SHA-256": hashes.SHA256(), "SHA-1": hashes.SHA1()}


def _cloud_pem(ctx) -> str:
    own = getattr(ctx.component, "cloud_certificate_pem", None)
    if own is not None:
        return own() if callable(own) else own
    return certificates.cloud_certificate_pem(ctx.settings.data_dir)


@operation
def describe_service_certificates(ctx, format: str | None = None,
                                  fingerprint_digest: str | None = None, **_) -> dict:
    """The cloud's image-bundling certificate, as compute's (serviceType "compute")."""
    fmt = (format or "pem").lower()
    if fmt not in ("pem", "der"):
        raise InvalidParameterValue(f"Value ({format}) for parameter Format is invalid. "
                                    "Valid values: pem, der")
    digest_name = (fingerprint_digest or "SHA-256").upper().replace("SHA256", "SHA-256") \
        .replace("SHA1", "SHA-1")
    if digest_name not in DIGESTS:
        raise InvalidParameterValue(f"Value ({fingerprint_digest}) for parameter "
                                    "FingerprintDigest is invalid. Valid values: SHA-256, SHA-1")
    pem = _cloud_pem(ctx)
    if not pem:
        raise ServiceUnavailable("The cloud has no certificate yet (run eucalyptus init)")
    cert = certificates.load_certificate(pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    fingerprint = ":".join(f"{b:02X}" for b in cert.fingerprint(DIGESTS[digest_name]))
    body = pem if fmt == "pem" else base64.b64encode(der).decode()
    return {"Certificates": [{
        "ServiceType": "compute", "CertificateUsage": "image-bundling",
        "CertificateFormat": fmt, "CertificateFingerprintDigest": digest_name,
        "CertificateFingerprint": fingerprint, "Certificate": body}]}
