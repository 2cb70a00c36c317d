"""Registering the starter image at a cloud's first start, through the user path.

``install_starter(settings)`` builds the starter image's files (``images.starter``), then
bundles, uploads and registers them exactly as a user would (the bundle tool, the S3 API of
Walrus, RegisterImage), with the cloud admin's credentials from ``DIR/credentials``:

    eki  starter-kernel    the Debian kernel (vmlinux)
    eri  starter-ramdisk   the initramfs with busybox, dropbear and the metadata client
    emi  starter           boots that kernel and ramdisk; its disk is an empty 4 MiB raw file

The bundles are signed with the cloud's own key. All three are made public (launch permission
group ``all``). ``DIR/.starter-registered``
records the ids, so later starts do nothing. A host without the packages the build needs gets
a note saying what is missing, and the cloud runs without a starter image.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from eucalyptus.credentials import parse_eucarc
from eucalyptus.images import certificates
from eucalyptus.images.bundle import BundleRequest, make_bundle
from eucalyptus.images.transfer import Location, upload_bundle

MARKER = ".starter-registered"
BUCKET = "eucalyptus-starter"
ROOT_DISK_BYTES = 4 * 1024 * 1024


def _clients(settings):
    from eucalyptus.aws.specs import botocore_session_with_overlays
    env = parse_eucarc(settings.path("credentials", "eucarc").read_text())
    session = botocore_session_with_overlays()
    common = dict(region_name=env["AWS_DEFAULT_REGION"], aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                  aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    return (session.create_client("ec2", endpoint_url=env["EC2_URL"], **common),
            session.create_client("s3", endpoint_url=env["S3_URL"], **common))


def install_starter(settings) -> str:
    """Build, bundle, upload and register the starter image unless done before; a one-line
    summary of what happened (never raises for a missing build input)."""
    marker = settings.path(MARKER)
    if marker.exists():
        return f"starter image: {json.loads(marker.read_text()).get('emi', '?')} (registered before)"
    from eucalyptus.images.starter import KernelError, build_starter
    try:
        starter = build_starter()
    except (KernelError, FileNotFoundError, OSError) as exc:
        return f"starter image: not built ({exc})"
    ec2, s3 = _clients(settings)
    cloud_cert = certificates.load_certificate(settings.path("keys", certificates.CERT_NAME)
                                               .read_bytes())
    # the cloud bundles its own image: signed with the cloud's key, which RegisterImage trusts
    user_key, user_cert = certificates.cloud_private_key(settings.data_dir), cloud_cert
    ids: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="starter-") as tmp:
        work = Path(tmp)
        root = work / "starter-root.img"
        with open(root, "wb") as f:
            f.truncate(ROOT_DISK_BYTES)
        for kind, source, prefix, name in (
                ("kernel", starter.kernel, "starter-vmlinux", "starter-kernel"),
                ("ramdisk", starter.ramdisk, "starter-initramfs", "starter-ramdisk"),
                ("machine", root, "starter-root", "starter")):
            made = make_bundle(BundleRequest(
                image=source, destination=work / prefix, cloud_cert=cloud_cert,
                user_cert=user_cert, user_key=user_key, prefix=prefix, image_type=kind,
                kernel_id=ids.get("eki") if kind == "machine" else None,
                ramdisk_id=ids.get("eri") if kind == "machine" else None))
            location = upload_bundle(s3, made.manifest_path,
                                     Location(BUCKET, f"{starter.kernel_release}/"))
            image_id = ec2.register_image(
                Name=name, ImageLocation=location,
                Description=f"starter image, Debian kernel {starter.kernel_release}"
            )["ImageId"]
            ec2.modify_image_attribute(ImageId=image_id,
                                       LaunchPermission={"Add": [{"Group": "all"}]})
            ids[image_id.split("-")[0]] = image_id
    marker.write_text(json.dumps(ids) + "\n")
    return f"starter image: {ids['emi']} (kernel {ids['eki']}, ramdisk {ids['eri']}), public"
