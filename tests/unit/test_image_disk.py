"""Full-disk images: the starter disk builder's MBR and boot files, disk format checks, and the
node's download of a plain disk object (size, ETag, If-Match)."""
import hashlib
import http.server
import shutil
import struct
import subprocess
import threading

import pytest

from eucalyptus.images import disk_format
from eucalyptus.images.starter import disk
from eucalyptus.images.unbundle import BundleError
from eucalyptus.nc.image_fetch import download_object


def test_mbr_has_one_active_partition_and_the_boot_signature():
    record = disk.mbr(b"\xeb\x63" + b"\x90" * 100, 2048, 65536)
    assert len(record) == 512 and record[510:] == b"\x55\xaa"
    assert record[:2] == b"\xeb\x63"
    entry = record[446:462]
    assert entry[0] == 0x80 and entry[4] == disk.FAT16_LBA
    assert struct.unpack("<II", entry[8:16]) == (2048, 65536)
    assert record[462:510] == b"\0" * 48
    with pytest.raises(ValueError):
        disk.mbr(b"x" * 441, 2048, 1)


def test_syslinux_config_boots_the_kernel_with_the_cmdline():
    cfg = disk.syslinux_config("console=ttyS0 quiet")
    assert "KERNEL /vmlinuz" in cfg and "INITRD /initrd.gz" in cfg
    assert "APPEND console=ttyS0 quiet" in cfg and cfg.startswith("SERIAL 0 115200")


@pytest.mark.skipif(not all(shutil.which(t) for t in ("mformat", "mcopy", "syslinux")),
                    reason="needs mtools and syslinux")
def test_write_raw_disk_lays_out_a_bootable_fat_partition(tmp_path):
    kernel, initrd = tmp_path / "bzImage", tmp_path / "initrd"
    kernel.write_bytes(b"K" * 100_000)
    initrd.write_bytes(b"I" * 50_000)
    target = disk.write_raw_disk(tmp_path / "d.raw", kernel, initrd, "console=ttyS0")
    data = target.read_bytes()
    assert data[510:512] == b"\x55\xaa" and data[446] == 0x80
    start, sectors = struct.unpack("<II", data[454:462])
    assert start == disk.PART_START and (start + sectors) * 512 == len(data)
    listing = subprocess.run(["mdir", "-a", "-b", "-i", f"{target}@@{start * 512}", "::/"],
                             capture_output=True, text=True, env={"MTOOLS_SKIP_CHECK": "1"})
    names = {line.rsplit("/", 1)[-1].lower() for line in listing.stdout.split()}
    assert {"vmlinuz", "initrd.gz", "syslinux.cfg", "ldlinux.sys"} <= names
    assert disk_format.disk_format(data[:512]) == "raw"
    assert not list(tmp_path.glob(".*building"))


def test_qcow2_headers():
    v3 = b"QFI\xfb" + struct.pack(">IQI", 3, 0, 0) + b"\0" * 100
    assert disk_format.disk_format(v3) == "qcow2" and disk_format.unsafe_qcow2(v3) == ""
    backed = b"QFI\xfb" + struct.pack(">IQI", 3, 4096, 10) + b"\0" * 100
    assert "backing" in disk_format.unsafe_qcow2(backed)
    external = bytearray(v3)
    external[72:80] = struct.pack(">Q", 4)
    assert "data file" in disk_format.unsafe_qcow2(bytes(external))
    assert "version" in disk_format.unsafe_qcow2(b"QFI\xfb" + struct.pack(">IQI", 9, 0, 0) + b"\0" * 64)
    assert disk_format.unsafe_qcow2(b"\0" * 512) == ""


@pytest.fixture
def server():
    body = b"disk bytes " * 1000
    etag = hashlib.md5(body).hexdigest()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.headers.get("If-Match") not in (None, f'"{etag}"'):
                self.send_response(412)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/o", body, etag
    httpd.shutdown()


def test_download_object_checks_size_and_etag(server, tmp_path):
    url, body, etag = server
    target = tmp_path / "got"
    download_object(url, target, len(body), etag, 10)
    assert target.read_bytes() == body
    with pytest.raises(BundleError, match="changed since registration"):
        download_object(url, tmp_path / "x", len(body), "0" * 32, 10)
    with pytest.raises(BundleError, match="bytes"):
        download_object(url, tmp_path / "y", len(body) + 1, "", 10)
    with pytest.raises(BundleError, match="larger"):
        download_object(url, tmp_path / "z", len(body) - 1, "", 10)
