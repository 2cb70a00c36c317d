"""Images end to end: bundle, upload, register with the commands and boto3; round trip to
identical bytes; a tampered part refused; sharing and visibility between accounts."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from eucalyptus.aws import specs
from eucalyptus.images import bundle, certificates
from eucalyptus.images.transfer import Location, upload_bundle

BIN = Path(sys.executable).parent
USER_KEY, USER_CERT = certificates.self_signed("tester", bits=1024)


def trust_user_cert(iam) -> None:
    """Make USER_CERT a signing certificate of ``iam``'s user (RegisterImage checks it)."""
    try:
        iam.upload_signing_certificate(CertificateBody=certificates.cert_pem(USER_CERT).decode())
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "DuplicateCertificate":
            raise


def run(cloud, home: Path, *argv: str) -> subprocess.CompletedProcess:
    euca = home / ".euca"          # the bundling commands' default key pair: always USER_CERT
    if not (euca / "bundle-cert.pem").exists():
        certificates.write_pair(USER_KEY, USER_CERT, euca / "bundle-pk.pem",
                                euca / "bundle-cert.pem")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), **cloud.env}
    env.pop("EUCALYPTUS_CERT", None)      # found through DescribeServiceCertificates instead
    return subprocess.run([str(BIN / argv[0]), *argv[1:]], capture_output=True, text=True,
                          timeout=120, env=env)


def ok(done: subprocess.CompletedProcess) -> list[list[str]]:
    assert done.returncode == 0, done.stderr
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value.response["Error"]["Code"]


def client(cloud, service, key, secret):
    session = boto3.Session(botocore_session=specs.botocore_session_with_overlays())
    return session.client(service, endpoint_url=cloud.endpoint(service),
                          region_name=cloud.env["AWS_DEFAULT_REGION"], aws_access_key_id=key,
                          aws_secret_access_key=secret)


def new_account(cloud, tmp_path: Path, name: str) -> tuple[str, str, str]:
    """(account id, key, secret) of a new account's admin, via `eucalyptus credentials`."""
    account_id = cloud.client("iam").create_account(AccountName=name)["Account"]["AccountId"]
    target = tmp_path / f"{name}.zip"
    done = subprocess.run([str(BIN / "eucalyptus"), "credentials", "--data-dir",
                           str(cloud.data_dir), "--account", name, "--user", "admin", "-o",
                           str(target)], capture_output=True, text=True, timeout=60,
                          env=cloud.process_env)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(target) as z:
        assert z.read("cloud-cert.pem") == (cloud.data_dir / "keys" / "cloud-cert.pem").read_bytes()
        values = dict(line[len("export "):].split("=", 1) for line in
                      z.read("eucarc").decode().splitlines() if line.startswith("export "))
    return account_id, values["AWS_ACCESS_KEY_ID"].strip("'"), \
        values["AWS_SECRET_ACCESS_KEY"].strip("'")


def bundle_with_boto3(cloud, s3, tmp_path: Path, name: str, bucket: str, **kw) -> str:
    image = tmp_path / name
    image.write_bytes(os.urandom(4096) + name.encode() * 512)
    cloud_cert = certificates.load_certificate(
        (cloud.data_dir / "keys" / "cloud-cert.pem").read_bytes())
    creds = s3._get_credentials()
    trust_user_cert(client(cloud, "iam", creds.access_key, creds.secret_key))
    made = bundle.make_bundle(bundle.BundleRequest(
        image=image, destination=tmp_path / f"{name}-bundle", cloud_cert=cloud_cert,
        user_cert=USER_CERT, user_key=USER_KEY, **kw))
    return upload_bundle(s3, made.manifest_path, Location.parse(bucket))


def test_commands_bundle_upload_register_download_unbundle(cloud, tmp_path):
    bucket = f"img-{uuid.uuid4().hex[:10]}"
    image = tmp_path / "disk.img"
    data = os.urandom(3 * 1024 * 1024) + b"\0" * (9 * 1024 * 1024)
    image.write_bytes(data)
    lines = ok(run(cloud, tmp_path, "euca-bundle-image", "-i", str(image), "-d",
                   str(tmp_path / "b")))
    manifest = Path(lines[-1][0].split(" ", 2)[2])
    assert manifest.name == "disk.img.manifest.xml"
    done = run(cloud, tmp_path, "euca-upload-bundle", "-b", f"{bucket}/v1", "-m", str(manifest))
    assert ok(done)[-1] == [f"Uploaded {bucket}/v1/disk.img.manifest.xml"]
    assert "uploading disk.img.manifest.xml: 100%" in done.stderr
    emi = ok(run(cloud, tmp_path, "euca-register", f"{bucket}/v1/disk.img.manifest.xml",
                 "-n", f"disk-{bucket}"))[0][1]
    assert emi.startswith("emi-")
    record = ok(run(cloud, tmp_path, "euca-describe-images", emi))[0]
    assert record[:7] == ["IMAGE", emi, f"{bucket}/v1/disk.img.manifest.xml",
                          "eucalyptus", "available", "private", "x86_64"]  # owner alias
    assert record[7] == "machine" and record[-2:] == ["instance-store", "hvm"]
    ok(run(cloud, tmp_path, "euca-download-bundle", "-b", f"{bucket}/v1", "-p", "disk.img",
           "-d", str(tmp_path / "down")))
    ok(run(cloud, tmp_path, "euca-unbundle", "-m", str(tmp_path / "down/disk.img.manifest.xml"),
           "-d", str(tmp_path / "back"), "--quiet"))
    assert hashlib.sha256((tmp_path / "back/disk.img").read_bytes()).digest() == \
        hashlib.sha256(data).digest()
    # a part altered in Walrus: the download refuses it and leaves no part file
    s3 = cloud.client("s3")
    key = f"v1/disk.img.part.00"
    body = bytearray(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    body[10] ^= 0xFF
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(body))
    bad = run(cloud, tmp_path, "euca-download-bundle", "-b", f"{bucket}/v1", "-p", "disk.img",
              "-d", str(tmp_path / "bad"))
    assert bad.returncode == 1 and "disk.img.part.00 does not match its digest" in bad.stderr
    assert not any((tmp_path / "bad").glob("*.part.*"))
    ok(run(cloud, tmp_path, "euca-deregister", emi))
    assert code_of(cloud.client("ec2").describe_images, ImageIds=[emi]) == \
        "InvalidAMIID.NotFound"


def test_install_image_and_attributes(cloud, tmp_path):
    bucket = f"inst-{uuid.uuid4().hex[:10]}"
    image = tmp_path / "vmlinuz"
    image.write_bytes(os.urandom(100_000))
    eki = ok(run(cloud, tmp_path, "euca-install-image", "-i", str(image), "-b", bucket,
                 "-n", f"k-{bucket}", "--image-type", "kernel", "--quiet"))[0][1]
    assert eki.startswith("eki-")
    ok(run(cloud, tmp_path, "euca-modify-image-attribute", eki, "--description", "a kernel"))
    assert ok(run(cloud, tmp_path, "euca-describe-image-attribute", eki, "--description")) == \
        [["description", eki, "a kernel"]]
    ok(run(cloud, tmp_path, "euca-modify-image-attribute", eki, "-l", "-a", "all"))
    assert ok(run(cloud, tmp_path, "euca-describe-image-attribute", eki, "-l")) == \
        [["launchPermission", eki, "group", "all"]]
    ok(run(cloud, tmp_path, "euca-deregister", eki))


def test_sharing_between_accounts(cloud, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    a_id, a_key, a_secret = new_account(cloud, tmp_path, f"imga{suffix}")
    b_id, b_key, b_secret = new_account(cloud, tmp_path, f"imgb{suffix}")
    try:
        ec2_a, s3_a = client(cloud, "ec2", a_key, a_secret), client(cloud, "s3", a_key, a_secret)
        ec2_b = client(cloud, "ec2", b_key, b_secret)
        bucket = f"share-{suffix}"
        eki = ec2_a.register_image(Name="kernel", ImageLocation=bundle_with_boto3(
            cloud, s3_a, tmp_path, "k.img", bucket, image_type="kernel"))["ImageId"]
        location = bundle_with_boto3(cloud, s3_a, tmp_path, "m.img", bucket, kernel_id=eki)
        assert code_of(ec2_b.register_image, Name="stolen", ImageLocation=location) == \
            "AuthFailure"
        assert code_of(ec2_a.register_image, Name="nothing",
                       ImageLocation=f"{bucket}/none.manifest.xml") == "InvalidManifest"
        emi = ec2_a.register_image(Name="machine", ImageLocation=location)["ImageId"]
        image = ec2_a.describe_images(ImageIds=[emi])["Images"][0]
        assert image["KernelId"] == eki and image["VirtualizationType"] == "paravirtual"
        assert code_of(ec2_b.describe_images, ImageIds=[emi]) == "InvalidAMIID.NotFound"
        assert emi not in [i["ImageId"] for i in ec2_b.describe_images()["Images"]]
        ec2_a.modify_image_attribute(ImageId=emi, LaunchPermission={"Add": [{"UserId": b_id}]})
        assert ec2_b.describe_images(ImageIds=[emi])["Images"][0]["OwnerId"] == a_id
        assert [i["ImageId"] for i in ec2_b.describe_images(
            ExecutableUsers=["self"], Owners=[a_id])["Images"]] == [emi]
        assert code_of(ec2_b.deregister_image, ImageId=emi) == "AuthFailure"
        perms = ec2_a.describe_image_attribute(ImageId=emi, Attribute="launchPermission")
        assert perms["LaunchPermissions"] == [{"UserId": b_id}]
        ec2_a.reset_image_attribute(ImageId=emi, Attribute="launchPermission")
        assert code_of(ec2_b.describe_images, ImageIds=[emi]) == "InvalidAMIID.NotFound"
        ec2_a.modify_image_attribute(ImageId=emi, LaunchPermission={"Add": [{"Group": "all"}]})
        public = ec2_b.describe_images(Filters=[{"Name": "is-public", "Values": ["true"]},
                                                {"Name": "owner-id", "Values": [a_id]}])
        assert [i["ImageId"] for i in public["Images"]] == [emi]
        s3_a.put_object(Bucket=bucket, Key="disk.raw", Body=b"\0" * 65536)
        disk = ec2_a.register_image(Name="disk", ImageLocation=f"{bucket}/disk.raw")["ImageId"]
        assert ec2_a.describe_images(ImageIds=[disk])["Images"][0]["VirtualizationType"] == "hvm"
        for image_id in (emi, eki, disk):
            ec2_a.deregister_image(ImageId=image_id)
    finally:
        iam = cloud.client("iam")
        for name in (f"imga{suffix}", f"imgb{suffix}"):
            iam.delete_account(AccountName=name, Recursive=True)


def test_service_certificate_matches_credentials(cloud):
    got = cloud.client("ec2").describe_service_certificates()["Certificates"][0]
    assert got["Certificate"] == (cloud.data_dir / "credentials" / "cloud-cert.pem").read_text()


def test_signing_certificates_gate_register_and_deregister_retires(cloud, tmp_path):
    """RegisterImage takes a manifest only when an active signing certificate of the account
    verifies it; a deregistered image vanishes and cannot be launched."""
    account_id, key, secret = new_account(cloud, tmp_path, f"sig{uuid.uuid4().hex[:8]}")
    iam, s3 = client(cloud, "iam", key, secret), client(cloud, "s3", key, secret)
    ec2 = client(cloud, "ec2", key, secret)
    bucket = f"sig-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    signer_key, signer_cert = certificates.self_signed("signer", bits=1024)
    image = tmp_path / "sig.img"
    image.write_bytes(os.urandom(3000))
    made = bundle.make_bundle(bundle.BundleRequest(
        image=image, destination=tmp_path / "sig", user_key=signer_key, user_cert=signer_cert,
        cloud_cert=certificates.load_certificate(
            (cloud.data_dir / "keys" / "cloud-cert.pem").read_bytes())))
    location = upload_bundle(s3, made.manifest_path, Location.parse(bucket))
    assert code_of(ec2.register_image, Name="sig", ImageLocation=location) == "InvalidManifest"

    body = certificates.cert_pem(signer_cert).decode()
    cert = iam.upload_signing_certificate(CertificateBody=body)["Certificate"]
    assert cert["Status"] == "Active"
    assert code_of(iam.upload_signing_certificate, CertificateBody=body) == \
        "DuplicateCertificate"
    assert code_of(iam.upload_signing_certificate, CertificateBody="junk") == \
        "MalformedCertificate"
    listed = iam.list_signing_certificates()["Certificates"]
    assert [c["CertificateId"] for c in listed] == [cert["CertificateId"]]
    iam.update_signing_certificate(CertificateId=cert["CertificateId"], Status="Inactive")
    assert code_of(ec2.register_image, Name="sig", ImageLocation=location) == "InvalidManifest"
    iam.update_signing_certificate(CertificateId=cert["CertificateId"], Status="Active")
    emi = ec2.register_image(Name="sig", ImageLocation=location)["ImageId"]

    # a manifest altered after signing no longer verifies
    text = made.manifest_path.read_text().replace("<size>3000</size>", "<size>3001</size>")
    s3.put_object(Bucket=bucket, Key="altered.manifest.xml", Body=text.encode())
    assert code_of(ec2.register_image, Name="altered",
                   ImageLocation=f"{bucket}/altered.manifest.xml") == "InvalidManifest"

    assert ec2.deregister_image(ImageId=emi)["Return"] is True
    assert emi not in [i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]]
    assert code_of(ec2.describe_images, ImageIds=[emi]) == "InvalidAMIID.NotFound"
    assert code_of(ec2.run_instances, ImageId=emi, MinCount=1, MaxCount=1) == \
        "InvalidAMIID.Unavailable"
    assert ec2.register_image(Name="sig", ImageLocation=location)["ImageId"] != emi
    iam.delete_signing_certificate(CertificateId=cert["CertificateId"])
    assert iam.list_signing_certificates()["Certificates"] == []
