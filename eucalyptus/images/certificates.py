"""X.509 certificates and RSA keys of the bundle format.

The cloud has one RSA key and a self-signed certificate, made at ``eucalyptus init`` and kept
in ``DIR/keys/cloud-pk.pem`` (mode 0600) and ``DIR/keys/cloud-cert.pem``. Bundles encrypt their
AES key for that certificate, so only the cloud can open them; the certificate is handed to
users as ``cloud-cert.pem`` in their credentials. A user who bundles needs an RSA key and
certificate of their own (the manifest is signed with it, and the AES key is also encrypted
for it so the user can unbundle): ``self_signed(name)`` makes such a pair.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

CERT_NAME = "cloud-cert.pem"
KEY_NAME = "cloud-pk.pem"
RSA_BITS = 2048
VALID_DAYS = 3650


def self_signed(common_name: str, bits: int = RSA_BITS,
                days: int = VALID_DAYS) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A new RSA key and a self-signed certificate for ``common_name``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Eucalyptus"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_pair(key: rsa.RSAPrivateKey, cert: x509.Certificate, key_path: Path,
               cert_path: Path) -> None:
    """Write the key (mode 0600) and the certificate, each through a temporary file."""
    for path, data, mode in ((key_path, key_pem(key), 0o600), (cert_path, cert_pem(cert), 0o644)):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)


def ensure_cloud_certificate(data_dir: Path) -> bool:
    """Make the cloud's key and certificate in ``DIR/keys`` unless both exist; True when new
    ones were written."""
    keys = Path(data_dir) / "keys"
    if (keys / KEY_NAME).exists() and (keys / CERT_NAME).exists():
        return False
    key, cert = self_signed("eucalyptus cloud")
    write_pair(key, cert, keys / KEY_NAME, keys / CERT_NAME)
    return True


def cloud_certificate_pem(data_dir: Path) -> str:
    """The cloud certificate as PEM text; "" when this data directory has none."""
    path = Path(data_dir) / "keys" / CERT_NAME
    return path.read_text() if path.exists() else ""


def load_certificate(data: bytes | str) -> x509.Certificate:
    """A PEM (or DER) certificate; ValueError when it is neither."""
    raw = data.encode() if isinstance(data, str) else data
    if b"-----BEGIN" in raw:
        return x509.load_pem_x509_certificate(raw)
    return x509.load_der_x509_certificate(raw)


def load_private_key(data: bytes | str) -> rsa.RSAPrivateKey:
    """A PEM RSA private key (PKCS#1 or PKCS#8, unencrypted); ValueError otherwise."""
    raw = data.encode() if isinstance(data, str) else data
    key = serialization.load_pem_private_key(raw, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def cloud_private_key(data_dir: Path) -> rsa.RSAPrivateKey:
    """The cloud's private key; FileNotFoundError when this host does not hold it."""
    return load_private_key((Path(data_dir) / "keys" / KEY_NAME).read_bytes())
