"""Bundles: round trip to identical bytes, parts, keys for cloud and user, tampering refused."""
import hashlib
import io
import os

import pytest

from eucalyptus.images import bundle, certificates
from eucalyptus.images import manifest as mf
from eucalyptus.images.progress import LineReporter
from eucalyptus.images.unbundle import BundleError, directory_parts, unbundle

CLOUD_KEY, CLOUD_CERT = certificates.self_signed("cloud", bits=1024)
USER_KEY, USER_CERT = certificates.self_signed("user", bits=1024)


def make(tmp_path, data: bytes, **kw):
    image = tmp_path / "disk.img"
    image.write_bytes(data)
    req = bundle.BundleRequest(image=image, destination=tmp_path / "out", cloud_cert=CLOUD_CERT,
                               user_cert=USER_CERT, user_key=USER_KEY, account="123456789012",
                               **kw)
    return image, bundle.make_bundle(req)


def open_bundle(result, target, key=USER_KEY, who="user"):
    man = mf.parse(result.manifest_path.read_text())
    aes, iv = mf.bundle_key(key, man, who)
    return unbundle(man, directory_parts(result.manifest_path.parent), aes, iv, target)


@pytest.mark.parametrize("size", [0, 1, 4096, 300_000])
def test_round_trip_identical_bytes(tmp_path, size):
    data = os.urandom(size // 2) + b"\0" * (size - size // 2)
    image, result = make(tmp_path, data, part_size=64 * 1024)
    assert len(result.part_paths) == max(1, -(-result.manifest.bundled_size // (64 * 1024)))
    assert all(p.stat().st_size <= 64 * 1024 for p in result.part_paths)
    back = open_bundle(result, tmp_path / "back.img")
    assert back.read_bytes() == data
    back2 = open_bundle(result, tmp_path / "back2.img", CLOUD_KEY, "ec2")
    assert hashlib.sha1(back2.read_bytes()).digest() == hashlib.sha1(data).digest()


def test_manifest_fields_and_signature(tmp_path):
    _, result = make(tmp_path, b"x" * 5000, image_type="kernel", architecture="i386")
    raw = result.manifest_path.read_text()
    man = mf.parse(raw)
    assert (man.image_type, man.architecture, man.size, man.account) == \
        ("kernel", "i386", 5000, "123456789012")
    assert man.parts[0].filename == "disk.img.part.00"
    assert mf.verify(raw, man.signature, USER_CERT)
    assert not mf.verify(raw, man.signature, CLOUD_CERT)
    assert not mf.verify(raw.replace("<size>5000</size>", "<size>5001</size>"), man.signature,
                         USER_CERT)
    assert mf.parse(man.to_xml()).signed_elements() == man.signed_elements()


def test_tampered_part_is_refused_and_leaves_no_file(tmp_path):
    _, result = make(tmp_path, os.urandom(200_000), part_size=50_000)
    part = result.part_paths[2]
    data = bytearray(part.read_bytes())
    data[100] ^= 1
    part.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="disk.img.part.02 does not match its digest"):
        open_bundle(result, tmp_path / "back.img")
    assert not (tmp_path / "back.img").exists()
    assert [p.name for p in tmp_path.iterdir() if "unbundling" in p.name] == []


def test_missing_part_and_wrong_key(tmp_path):
    _, result = make(tmp_path, os.urandom(100_000), part_size=40_000)
    other_key, _ = certificates.self_signed("other", bits=1024)
    with pytest.raises(mf.ManifestError):
        open_bundle(result, tmp_path / "x.img", other_key)
    man = mf.parse(result.manifest_path.read_text())
    with pytest.raises(BundleError):        # right digests, wrong AES key
        unbundle(man, directory_parts(result.manifest_path.parent), b"k" * 16, b"i" * 16,
                 tmp_path / "y.img")
    result.part_paths[1].unlink()
    with pytest.raises(BundleError, match="missing"):
        open_bundle(result, tmp_path / "z.img")
    assert not (tmp_path / "x.img").exists() and not (tmp_path / "y.img").exists()


def test_progress_lines(tmp_path):
    out = io.StringIO()
    image = tmp_path / "p.img"
    image.write_bytes(b"a" * 100_000)
    bundle.make_bundle(bundle.BundleRequest(image=image, destination=tmp_path / "o",
                                            cloud_cert=CLOUD_CERT, user_cert=USER_CERT,
                                            user_key=USER_KEY), LineReporter(out))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("bundling p.img: 0%") and lines[-1].startswith(
        "bundling p.img: 100%")


def test_failure_removes_parts(tmp_path):
    image = tmp_path / "gone.img"
    with pytest.raises(FileNotFoundError):
        bundle.make_bundle(bundle.BundleRequest(image=image, destination=tmp_path / "o",
                                                cloud_cert=CLOUD_CERT, user_cert=USER_CERT,
                                                user_key=USER_KEY))
    assert list((tmp_path / "o").glob("*")) == [] if (tmp_path / "o").exists() else True
