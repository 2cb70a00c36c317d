"""Full-disk images through the whole cloud on real QEMU guests: the starter guest built as
one bootable disk (syslinux MBR + FAT partition, ``images.starter.disk``), registered once as
a raw disk from a bundle (euca-bundle-image style, no kernel or ramdisk, hvm) and once as a
qcow2 object in Walrus, both launched with a key pair, both booted by the BIOS (no -kernel)
and answering SSH. Two guest boots in all."""
from __future__ import annotations

import json
import uuid

import pytest

from eucalyptus.cc.vnet.netns import namespace_name
from eucalyptus.images import bundle, certificates
from eucalyptus.images.transfer import Location, upload_bundle
from tests.system.guests import QEMU, guest_cloud, ssh, wait_for, wait_instances, write_pem

pytestmark = [pytest.mark.system, pytest.mark.flaky(reruns=1, reruns_delay=5)]
BOOT_TIMEOUT = 150
cloud = guest_cloud("disk-cloud", {**QEMU, "syslinux": "syslinux", "mformat": "mtools"},
                    env={"EUCA_STARTER_IMAGE": "no"})


def test_raw_bundle_and_qcow2_object_boot_and_answer_ssh(cloud, tmp_path):
    from eucalyptus.images.starter.disk import build_disk
    tag = uuid.uuid4().hex[:6]         # a rerun on the same cloud needs new names
    raw = build_disk(tmp_path / "starter-disk.img")
    qcow2 = build_disk(tmp_path / "starter-disk.qcow2", fmt="qcow2")
    ec2, s3, iam = cloud.client("ec2"), cloud.client("s3"), cloud.client("iam")
    user_key, user_cert = certificates.self_signed(f"disk test {tag}", bits=2048)
    iam.upload_signing_certificate(CertificateBody=certificates.cert_pem(user_cert).decode())
    cloud_cert = certificates.load_certificate(
        (cloud.data_dir / "keys" / "cloud-cert.pem").read_bytes())
    made = bundle.make_bundle(bundle.BundleRequest(
        image=raw, destination=tmp_path / "bundle", cloud_cert=cloud_cert,
        user_cert=user_cert, user_key=user_key))
    location = upload_bundle(s3, made.manifest_path, Location.parse(f"disks-{tag}"))
    from_bundle = ec2.register_image(Name=f"disk-raw-{tag}", ImageLocation=location,
                                     VirtualizationType="hvm")["ImageId"]
    with open(qcow2, "rb") as body:
        s3.put_object(Bucket=f"disks-{tag}", Key="starter-disk.qcow2", Body=body)
    from_object = ec2.register_image(Name=f"disk-qcow2-{tag}",
                                     ImageLocation=f"disks-{tag}/starter-disk.qcow2")["ImageId"]
    described = {i["ImageId"]: i for i in ec2.describe_images(
        ImageIds=[from_bundle, from_object])["Images"]}
    for image in described.values():
        assert image["VirtualizationType"] == "hvm" and "KernelId" not in image

    key = ec2.create_key_pair(KeyName=f"disk-test-{tag}")
    pem = write_pem(tmp_path / "key.pem", key["KeyMaterial"])
    ids = [ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t1.micro",
                             KeyName=f"disk-test-{tag}")["Instances"][0]["InstanceId"]
           for image in (from_bundle, from_object)]
    ns = namespace_name(cloud.data_dir)
    try:
        found = wait_instances(ec2, ids, "running", BOOT_TIMEOUT, "both disk instances running")
        for iid in ids:
            spec = json.loads((cloud.data_dir / "instances" / iid / "spec.json").read_text())
            assert spec["kernel"] is None and spec["disk"]      # booted by the BIOS
            done = wait_for(lambda: (r := ssh(
                ns, pem, found[iid]["PrivateIpAddress"],
                "wget -q -O - http://169.254.169.254/latest/meta-data/instance-id; "
                "cat /sys/block/vda/serial")).returncode == 0 and r,
                BOOT_TIMEOUT, f"ssh into {iid}")
            assert iid in done.stdout and "root" in done.stdout
            console = ec2.get_console_output(InstanceId=iid)["Output"]
            assert "SYSLINUX" in console and f"EUCALYPTUS-GUEST-READY instance={iid}" in console
    finally:
        ec2.terminate_instances(InstanceIds=ids)
    wait_instances(ec2, ids, "terminated", BOOT_TIMEOUT, "terminated")
