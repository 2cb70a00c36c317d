"""The bundle manifest: EC2/Eucalyptus' XML description of an encrypted, split image.

    <manifest>
      <version>2007-10-10</version>
      <bundler><name>..</name><version>..</version><release>..</release></bundler>
      <machine_configuration>
        <architecture>x86_64</architecture>
        <block_device_mapping><mapping><virtual>ami</virtual><device>sda1</device></mapping>..
        <kernel_id>eki-..</kernel_id> <ramdisk_id>eri-..</ramdisk_id>        (optional)
      </machine_configuration>
      <image>
        <name>disk.img</name> <user>ACCOUNT</user> <type>machine|kernel|ramdisk</type>
        <digest algorithm="SHA1">hex SHA-1 of the tar stream</digest>
        <size>bytes of the image</size> <bundled_size>bytes of all parts</bundled_size>
        <ec2_encrypted_key algorithm="AES-128-CBC">hex</ec2_encrypted_key>
        <user_encrypted_key algorithm="AES-128-CBC">hex</user_encrypted_key>
        <ec2_encrypted_iv>hex</ec2_encrypted_iv> <user_encrypted_iv>hex</user_encrypted_iv>
        <parts count="N"><part index="0"><filename>..</filename>
                                          <digest algorithm="SHA1">hex</digest></part>..</parts>
      </image>
      <signature>hex RSA-SHA1 of the machine_configuration and image elements' text</signature>
    </manifest>

The AES key and IV are written as hex text, and that text is encrypted (RSA, PKCS#1 v1.5) once
for the cloud's certificate ("ec2") and once for the bundling user's. The signature covers the
two elements exactly as they appear in the file, so it is checked on the raw text.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

VERSION = "2007-10-10"
BUNDLER = ("eucalyptus-python", "1.0", "1")
IMAGE_TYPES = ("machine", "kernel", "ramdisk")
_HEX = re.compile(r"[0-9a-fA-F]+")


class ManifestError(ValueError):
    """A manifest that cannot be read, or whose contents do not hold together."""


@dataclass
class Part:
    filename: str
    digest: str              # hex SHA-1 of the part file


@dataclass
class Manifest:
    image_name: str
    image_type: str                       # machine | kernel | ramdisk
    architecture: str
    account: str
    size: int                             # bytes of the original image
    bundled_size: int                     # bytes of all parts together
    digest: str                           # hex SHA-1 of the tar stream
    ec2_encrypted_key: str
    ec2_encrypted_iv: str
    user_encrypted_key: str
    user_encrypted_iv: str
    parts: list[Part]
    kernel_id: str | None = None
    ramdisk_id: str | None = None
    block_device_mapping: dict[str, str] = field(default_factory=lambda: {
        "ami": "sda1", "root": "/dev/sda1"})
    signature: str = ""
    bundler: tuple[str, str, str] = BUNDLER

    # -- writing ----------------------------------------------------------------------------
    def signed_elements(self) -> str:
        """The text the signature covers: the machine_configuration and image elements."""
        return _to_text(self._machine_configuration()) + _to_text(self._image())

    def sign(self, key: rsa.RSAPrivateKey) -> None:
        self.signature = key.sign(self.signed_elements().encode(), padding.PKCS1v15(),
                                  hashes.SHA1()).hex()

    def to_xml(self) -> str:
        """The manifest document, with the signature as it stands (sign first)."""
        bundler = "".join(f"<{tag}>{_esc(v)}</{tag}>"
                          for tag, v in zip(("name", "version", "release"), self.bundler))
        return ('<?xml version="1.0" ?>\n<manifest>'
                f"<version>{VERSION}</version><bundler>{bundler}</bundler>"
                f"{self.signed_elements()}<signature>{self.signature}</signature></manifest>\n")

    def _machine_configuration(self) -> ET.Element:
        mc = ET.Element("machine_configuration")
        ET.SubElement(mc, "architecture").text = self.architecture
        bdm = ET.SubElement(mc, "block_device_mapping")
        for virtual, device in self.block_device_mapping.items():
            mapping = ET.SubElement(bdm, "mapping")
            ET.SubElement(mapping, "virtual").text = virtual
            ET.SubElement(mapping, "device").text = device
        if self.kernel_id:
            ET.SubElement(mc, "kernel_id").text = self.kernel_id
        if self.ramdisk_id:
            ET.SubElement(mc, "ramdisk_id").text = self.ramdisk_id
        return mc

    def _image(self) -> ET.Element:
        image = ET.Element("image")
        for tag, value in (("name", self.image_name), ("user", self.account),
                           ("type", self.image_type)):
            ET.SubElement(image, tag).text = value
        ET.SubElement(image, "digest", algorithm="SHA1").text = self.digest
        ET.SubElement(image, "size").text = str(self.size)
        ET.SubElement(image, "bundled_size").text = str(self.bundled_size)
        ET.SubElement(image, "ec2_encrypted_key", algorithm="AES-128-CBC").text = \
            self.ec2_encrypted_key
        ET.SubElement(image, "user_encrypted_key", algorithm="AES-128-CBC").text = \
            self.user_encrypted_key
        ET.SubElement(image, "ec2_encrypted_iv").text = self.ec2_encrypted_iv
        ET.SubElement(image, "user_encrypted_iv").text = self.user_encrypted_iv
        parts = ET.SubElement(image, "parts", count=str(len(self.parts)))
        for index, part in enumerate(self.parts):
            p = ET.SubElement(parts, "part", index=str(index))
            ET.SubElement(p, "filename").text = part.filename
            ET.SubElement(p, "digest", algorithm="SHA1").text = part.digest
        return image


def parse(text: str | bytes) -> Manifest:
    """A Manifest from its XML; ManifestError names what is missing or wrong."""
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise ManifestError(f"the manifest is not well-formed XML: {exc}") from None
    if root.tag != "manifest":
        raise ManifestError("the document is not a bundle manifest")
    image = _child(root, "image")
    mc = root.find("machine_configuration")
    parts = []
    parts_el = _child(image, "parts")
    for p in sorted(parts_el.findall("part"), key=lambda e: _int(e.get("index"), "part index")):
        filename = _text(p, "filename")
        if "/" in filename or filename in ("", ".", ".."):
            raise ManifestError(f"part file name {filename!r} is not a plain name")
        parts.append(Part(filename, _hex(_text(p, "digest"), "part digest")))
    if not parts:
        raise ManifestError("the manifest lists no parts")
    if parts_el.get("count") is not None and _int(parts_el.get("count"), "parts count") != len(parts):
        raise ManifestError("the parts count does not match the parts listed")
    image_type = _text(image, "type", "machine")
    if image_type not in IMAGE_TYPES:
        raise ManifestError(f"unknown image type {image_type!r}")
    bdm = {}
    if mc is not None:
        for mapping in mc.findall("block_device_mapping/mapping"):
            bdm[_text(mapping, "virtual")] = _text(mapping, "device")
    return Manifest(
        image_name=_text(image, "name"), image_type=image_type,
        architecture=_text(mc, "architecture", "x86_64") if mc is not None else "x86_64",
        account=_text(image, "user", ""), size=_int(_text(image, "size"), "size"),
        bundled_size=_int(_text(image, "bundled_size", "0"), "bundled_size"),
        digest=_hex(_text(image, "digest"), "digest"),
        ec2_encrypted_key=_hex(_text(image, "ec2_encrypted_key"), "ec2_encrypted_key"),
        ec2_encrypted_iv=_hex(_text(image, "ec2_encrypted_iv"), "ec2_encrypted_iv"),
        user_encrypted_key=_text(image, "user_encrypted_key", ""),
        user_encrypted_iv=_text(image, "user_encrypted_iv", ""),
        parts=parts,
        kernel_id=(_text(mc, "kernel_id", "") or None) if mc is not None else None,
        ramdisk_id=(_text(mc, "ramdisk_id", "") or None) if mc is not None else None,
        block_device_mapping=bdm or {"ami": "sda1", "root": "/dev/sda1"},
        signature=_text(root, "signature", ""))


def signed_text_of(raw: str) -> str:
    """The machine_configuration and image elements exactly as they appear in ``raw``."""
    found = [re.search(rf"<{tag}>.*</{tag}>", raw, re.DOTALL)
             for tag in ("machine_configuration", "image")]
    if not all(found):
        raise ManifestError("the manifest lacks the signed elements")
    return "".join(m.group(0) for m in found)


def verify(raw: str, signature_hex: str, signer) -> bool:
    """Whether ``signature_hex`` is the RSA-SHA1 signature of the signed elements made with the
    key of ``signer`` (an ``x509.Certificate`` or an RSA public key)."""
    public = signer.public_key() if isinstance(signer, x509.Certificate) else signer
    if not isinstance(public, rsa.RSAPublicKey):
        return False
    try:
        public.verify(bytes.fromhex(signature_hex), signed_text_of(raw).encode(),
                      padding.PKCS1v15(), hashes.SHA1())
    except (InvalidSignature, ValueError, ManifestError):
        return False
    return True


def encrypt_for(cert: x509.Certificate, data: bytes) -> str:
    """``data`` encrypted (RSA PKCS#1 v1.5) for the certificate's key, as hex text."""
    return cert.public_key().encrypt(data, padding.PKCS1v15()).hex()


def decrypt_with(key: rsa.RSAPrivateKey, hex_text: str) -> bytes:
    """The plain bytes of ``encrypt_for``'s output; ManifestError when ``key`` cannot open it."""
    try:
        return key.decrypt(bytes.fromhex(hex_text), padding.PKCS1v15())
    except ValueError:
        raise ManifestError("the bundle key cannot be decrypted with this key") from None


def bundle_key(key: rsa.RSAPrivateKey, manifest: Manifest, who: str = "ec2") -> tuple[bytes, bytes]:
    """The AES key and IV of a bundle, opened with ``key`` (``who`` is "ec2" or "user")."""
    enc_key = getattr(manifest, f"{who}_encrypted_key")
    enc_iv = getattr(manifest, f"{who}_encrypted_iv")
    if not enc_key or not enc_iv:
        raise ManifestError(f"the manifest has no {who} key")
    try:
        aes_key = bytes.fromhex(decrypt_with(key, enc_key).decode("ascii"))
        iv = bytes.fromhex(decrypt_with(key, enc_iv).decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, ManifestError):
            raise
        raise ManifestError("the bundle key is not hex text") from None
    if len(aes_key) != 16 or len(iv) != 16:
        raise ManifestError("the bundle key or IV is not 128 bits")
    return aes_key, iv


def _to_text(element: ET.Element) -> str:
    return ET.tostring(element, encoding="unicode", short_empty_elements=False)


def _esc(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _child(parent: ET.Element, tag: str) -> ET.Element:
    element = parent.find(tag)
    if element is None:
        raise ManifestError(f"the manifest has no <{tag}> element")
    return element


def _text(parent: ET.Element, tag: str, default: str | None = None) -> str:
    element = parent.find(tag)
    if element is None or element.text is None:
        if default is not None:
            return default
        raise ManifestError(f"the manifest has no <{tag}> value")
    return element.text.strip()


def _int(value: str | None, what: str) -> int:
    try:
        number = int(value or "")
    except ValueError:
        raise ManifestError(f"the manifest's {what} is not a number") from None
    if number < 0:
        raise ManifestError(f"the manifest's {what} is negative")
    return number


def _hex(value: str, what: str) -> str:
    if not _HEX.fullmatch(value):
        raise ManifestError(f"the manifest's {what} is not hex")
    return value.lower()
