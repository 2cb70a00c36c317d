"""Manifest parsing: required elements, part names, numbers, hex, key opening."""
import pytest

from eucalyptus.images import certificates
from eucalyptus.images import manifest as mf

KEY, CERT = certificates.self_signed("cloud", bits=1024)


def sample(**overrides) -> mf.Manifest:
    values = dict(image_name="a.img", image_type="machine", architecture="x86_64",
                  account="1", size=10, bundled_size=32, digest="ab" * 20,
                  ec2_encrypted_key=mf.encrypt_for(CERT, b"00" * 16),
                  ec2_encrypted_iv=mf.encrypt_for(CERT, b"11" * 16),
                  user_encrypted_key="", user_encrypted_iv="",
                  parts=[mf.Part("a.img.part.00", "cd" * 20)], kernel_id="eki-12345678")
    values.update(overrides)
    return mf.Manifest(**values)


def test_round_trip_and_key():
    man = sample()
    man.sign(KEY)
    back = mf.parse(man.to_xml())
    assert back.kernel_id == "eki-12345678" and back.ramdisk_id is None
    assert back.parts == man.parts and back.signature == man.signature
    assert mf.bundle_key(KEY, back, "ec2") == (b"\0" * 16, b"\x11" * 16)
    with pytest.raises(mf.ManifestError, match="no user key"):
        mf.bundle_key(KEY, back, "user")


@pytest.mark.parametrize("edit, message", [
    (lambda x: "not xml", "well-formed"),
    (lambda x: x.replace("<manifest>", "<other>").replace("</manifest>", "</other>"),
     "not a bundle manifest"),
    (lambda x: x.replace("a.img.part.00", "../etc/passwd"), "plain name"),
    (lambda x: x.replace("<size>10</size>", "<size>ten</size>"), "size"),
    (lambda x: x.replace("<type>machine</type>", "<type>disk</type>"), "image type"),
    (lambda x: x.replace('count="1"', 'count="2"'), "parts count"),
    (lambda x: x.replace("ab" * 20, "zz"), "digest"),
])
def test_bad_manifests(edit, message):
    with pytest.raises(mf.ManifestError, match=message):
        mf.parse(edit(sample().to_xml()))


def test_signed_text_needs_elements():
    with pytest.raises(mf.ManifestError):
        mf.signed_text_of("<manifest></manifest>")
