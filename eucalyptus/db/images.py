"""Tables of machine images and key pairs.

An image row is one registered EMI/EKI/ERI of its owner account: where its bundle manifest (or
plain disk object) lives in Walrus, how it boots, and whether it is public. Explicit launch
permissions for other accounts are rows of ``image_launch_permissions``. A key pair keeps only
its public half; the private key of a created pair is returned once and never stored. A
signing certificate is an X.509 certificate a user uploaded (IAM UploadSigningCertificate):
RegisterImage accepts a bundle manifest only when it is signed by one of the active
certificates of the registering account's users (or by the cloud itself).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from eucalyptus.db.schema import Base, utcnow


class Image(Base):
    __tablename__ = "images"
    __table_args__ = (UniqueConstraint("account_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)          # emi-/eki-/eri-
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    image_type: Mapped[str] = mapped_column(String(16))                   # machine|kernel|ramdisk
    location: Mapped[str] = mapped_column(Text)                           # bucket/key
    source: Mapped[str] = mapped_column(String(16), default="bundle")     # bundle | object
    architecture: Mapped[str] = mapped_column(String(16), default="x86_64")
    kernel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ramdisk_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    virtualization_type: Mapped[str] = mapped_column(String(16), default="paravirtual")
    root_device_name: Mapped[str] = mapped_column(String(64), default="/dev/sda1")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    digest: Mapped[str] = mapped_column(String(64), default="")            # SHA-1 (bundles)
    state: Mapped[str] = mapped_column(String(16), default="available")
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_by: Mapped[str] = mapped_column(String(32), default="")    # access key id
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ImageLaunchPermission(Base):
    """Account ``account_id`` may see and launch image ``image_id`` (LaunchPermission.UserId)."""
    __tablename__ = "image_launch_permissions"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"),
                                          primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12), primary_key=True, index=True)


class KeyPair(Base):
    __tablename__ = "key_pairs"
    __table_args__ = (UniqueConstraint("account_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)          # key-...
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    name: Mapped[str] = mapped_column(String(255))
    key_type: Mapped[str] = mapped_column(String(16))                     # rsa | ed25519
    fingerprint: Mapped[str] = mapped_column(String(128))
    public_key: Mapped[str] = mapped_column(Text)                         # OpenSSH line
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class SigningCertificate(Base):
    """An X.509 certificate of a user (IAM signing certificate), PEM text."""
    __tablename__ = "signing_certificates"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-1(account id + DER)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
