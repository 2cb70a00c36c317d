"""S3 ACLs end to end: canned ACLs, grants by canonical id, object ACLs, as seen by another
account (boto3), by anonymous HTTP clients (urllib) and by s3cmd.

The ``tenants`` fixture and the helpers here are shared by the other access-control test
modules (policy, presign, post)."""
from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from eucalyptus.services.s3.canonical import canonical_id

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


@dataclass
class Tenant:
    name: str
    account_id: str
    key: str
    secret: str
    cloud: object

    @property
    def canonical_id(self) -> str:
        return canonical_id(self.account_id)

    def client(self, service: str, signature_version: str | None = None, key=None, secret=None):
        config = Config(retries={"max_attempts": 1, "mode": "standard"},
                        s3={"addressing_style": "path"}, signature_version=signature_version)
        return boto3.session.Session().client(
            service, endpoint_url=self.cloud.endpoint(service),
            region_name=self.cloud.env["AWS_DEFAULT_REGION"], config=config,
            aws_access_key_id=key or self.key, aws_secret_access_key=secret or self.secret)

    def s3(self, signature_version: str | None = None):
        return self.client("s3", signature_version)

    def user(self, name: str, policy: str | None = None):
        """An IAM user of this account (with ``policy`` inline) and its S3 client."""
        iam = self.client("iam")
        iam.create_user(UserName=name)
        if policy:
            iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=policy)
        made = iam.create_access_key(UserName=name)["AccessKey"]
        return self.client("s3", key=made["AccessKeyId"], secret=made["SecretAccessKey"])


def make_tenant(cloud, tmp_path: Path, name: str) -> Tenant:
    """A new account, its root's keys fetched with `eucalyptus credentials` as an operator
    would."""
    admin_iam = cloud.client("iam")
    account_id = admin_iam.create_account(AccountName=name)["Account"]["AccountId"]
    target = tmp_path / f"{name}.zip"
    done = subprocess.run([str(Path(sys.executable).with_name("eucalyptus")), "credentials",
                           "--data-dir", str(cloud.data_dir), "--account", name, "--user",
                           "admin", "-o", str(target)], capture_output=True, text=True,
                          timeout=60, env=cloud.process_env)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(target) as bundle:
        eucarc = bundle.read("eucarc").decode()
    values = dict(line.split("export ", 1)[1].split("=", 1) for line in eucarc.splitlines()
                  if line.startswith("export "))
    values = {k: v.strip("'\"") for k, v in values.items()}
    return Tenant(name, account_id, values["AWS_ACCESS_KEY_ID"],
                  values["AWS_SECRET_ACCESS_KEY"], cloud)


@pytest.fixture(scope="module")
def tenants(cloud, tmp_path_factory):
    """Two fresh accounts (roots' keys), removed with everything in them afterwards."""
    tag = uuid.uuid4().hex[:8]
    where = tmp_path_factory.mktemp("tenants")
    made = [make_tenant(cloud, where, f"acl{tag}a"), make_tenant(cloud, where, f"acl{tag}b")]
    yield made
    for tenant in made:
        empty_buckets(tenant.s3())
        cloud.client("iam").delete_account(AccountName=tenant.name, Recursive=True)


def empty_buckets(s3) -> None:
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        versions = s3.list_object_versions(Bucket=name)
        for item in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
            try:
                s3.delete_object(Bucket=name, Key=item["Key"], VersionId=item["VersionId"])
            except ClientError:
                pass
        try:
            s3.delete_bucket(Bucket=name)
        except ClientError:
            pass


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value.response["Error"]["Code"]


def anonymous(cloud, method: str, path: str, data: bytes | None = None) -> tuple[int, bytes]:
    """An unsigned request to ``S3_URL/path``: (status, body)."""
    request = urllib.request.Request(f"{cloud.endpoint('s3')}/{path}", data=data,
                                     method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def can(call, *args, **kwargs) -> bool:
    try:
        call(*args, **kwargs)
        return True
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "AccessDenied", exc.response
        return False


CANNED = {   # canned ACL -> (other account: read, list, write; anonymous: read, list, write)
    "private": (False, False, False, False, False, False),
    "public-read": (True, True, False, True, True, False),
    "public-read-write": (True, True, True, True, True, True),
    "authenticated-read": (True, True, False, False, False, False),
    "log-delivery-write": (False, False, False, False, False, False),
}


@pytest.mark.parametrize("canned", CANNED)
def test_canned_acl_effects(cloud, tenants, canned):
    owner, other = tenants
    s3, theirs = owner.s3(), other.s3()
    bucket = unique("canned")
    s3.create_bucket(Bucket=bucket, ACL=canned)
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"hello", ACL=canned)
    read, listing, write, anon_read, anon_list, anon_write = CANNED[canned]
    assert can(theirs.get_object, Bucket=bucket, Key="doc.txt") == read
    assert can(theirs.list_objects_v2, Bucket=bucket) == listing
    assert can(theirs.put_object, Bucket=bucket, Key="from-other", Body=b"x") == write
    assert (anonymous(cloud, "GET", f"{bucket}/doc.txt")[0] == 200) == anon_read
    status, body = anonymous(cloud, "GET", bucket)
    assert (status == 200) == anon_list, body
    if not anon_list:
        assert status == 403 and b"<Code>AccessDenied</Code>" in body
    assert (anonymous(cloud, "PUT", f"{bucket}/anon", b"y")[0] == 200) == anon_write
    # the owner keeps full control whatever the ACL
    assert s3.get_object(Bucket=bucket, Key="doc.txt")["Body"].read() == b"hello"
    grants = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    assert {"Grantee": {"Type": "CanonicalUser", "ID": owner.canonical_id,
                        "DisplayName": owner.name}, "Permission": "FULL_CONTROL"} in grants


def test_grants_by_canonical_id_and_headers(cloud, tenants):
    owner, other = tenants
    s3, theirs = owner.s3(), other.s3()
    bucket = unique("grants")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert not can(theirs.list_objects_v2, Bucket=bucket)
    current = s3.get_bucket_acl(Bucket=bucket)
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy={
        "Owner": current["Owner"],
        "Grants": current["Grants"] + [
            {"Grantee": {"Type": "CanonicalUser", "ID": other.canonical_id},
             "Permission": "READ"}]})
    grants = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    assert {"Grantee": {"Type": "CanonicalUser", "ID": other.canonical_id,
                        "DisplayName": other.name}, "Permission": "READ"} in grants
    assert [o["Key"] for o in theirs.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]
    assert not can(theirs.get_object, Bucket=bucket, Key="k")    # the object is still private
    s3.put_object_acl(Bucket=bucket, Key="k", GrantRead=f'id="{other.canonical_id}"')
    assert theirs.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    assert anonymous(cloud, "GET", f"{bucket}/k")[0] == 403
    s3.put_object_acl(Bucket=bucket, Key="k", GrantRead=f'uri="{ALL_USERS}"')
    assert anonymous(cloud, "GET", f"{bucket}/k") == (200, b"v")
    # the other account cannot read or change the ACLs it was not given
    assert code_of(theirs.get_object_acl, Bucket=bucket, Key="k") == "AccessDenied"
    assert code_of(theirs.put_bucket_acl, Bucket=bucket, ACL="public-read-write") \
        == "AccessDenied"
    assert code_of(s3.put_bucket_acl, Bucket=bucket,
                   GrantRead='emailAddress="someone@example.com"') \
        == "UnresolvableGrantByEmailAddress"
    assert code_of(s3.put_bucket_acl, Bucket=bucket, GrantRead=f'id="{"ab" * 32}"') \
        == "InvalidArgument"
    assert code_of(s3.put_bucket_acl, Bucket=bucket, ACL="nonsense") == "InvalidArgument"
    assert code_of(s3.put_bucket_acl, Bucket=bucket, AccessControlPolicy={
        "Owner": {"ID": other.canonical_id}, "Grants": []}) == "AccessDenied"


def test_bucket_owner_canned_acls_and_exec_read(cloud, tenants):
    owner, other = tenants
    s3, theirs = owner.s3(), other.s3()
    bucket = unique("drop")
    s3.create_bucket(Bucket=bucket, ACL="public-read-write")
    theirs.put_object(Bucket=bucket, Key="mine", Body=b"1")
    theirs.put_object(Bucket=bucket, Key="shared", Body=b"2", ACL="bucket-owner-full-control")
    theirs.put_object(Bucket=bucket, Key="peek", Body=b"3", ACL="bucket-owner-read")
    assert not can(s3.get_object, Bucket=bucket, Key="mine")   # the uploader owns it
    assert s3.get_object(Bucket=bucket, Key="shared")["Body"].read() == b"2"
    assert s3.get_object(Bucket=bucket, Key="peek")["Body"].read() == b"3"
    assert not can(s3.put_object_acl, Bucket=bucket, Key="peek", ACL="public-read")
    assert s3.get_object_acl(Bucket=bucket, Key="shared")["Owner"]["ID"] == other.canonical_id
    s3.delete_object(Bucket=bucket, Key="mine")    # the bucket owner may still delete it
    # aws-exec-read lets the cloud (its administrator's account) read image bundles
    s3.put_object(Bucket=bucket, Key="bundle.manifest.xml", Body=b"m", ACL="aws-exec-read")
    admin = cloud.client("s3", config=Config(s3={"addressing_style": "path"},
                                             retries={"max_attempts": 1}))
    assert admin.get_object(Bucket=bucket, Key="bundle.manifest.xml")["Body"].read() == b"m"
    assert not can(admin.get_object, Bucket=bucket, Key="shared")
    assert not can(theirs.get_object, Bucket=bucket, Key="bundle.manifest.xml")


def test_acl_on_copy_and_multipart(cloud, tenants):
    owner, _ = tenants
    s3 = owner.s3()
    bucket = unique("writes")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="src", Body=b"source")
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "src"},
                   ACL="public-read")
    assert anonymous(cloud, "GET", f"{bucket}/copy") == (200, b"source")
    assert anonymous(cloud, "GET", f"{bucket}/src")[0] == 403
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big", ACL="public-read")
    part = s3.upload_part(Bucket=bucket, Key="big", UploadId=upload["UploadId"], PartNumber=1,
                          Body=b"multi")
    assert anonymous(cloud, "GET", f"{bucket}/big")[0] in (403, 404)
    s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1,
                                                             "ETag": part["ETag"]}]})
    assert anonymous(cloud, "GET", f"{bucket}/big") == (200, b"multi")


def s3cmd_config(tenant: Tenant, path: Path, signature_v2: bool) -> Path:
    host = tenant.cloud.endpoint("s3").split("://", 1)[1].split("/", 1)[0]
    config = configparser.RawConfigParser()
    config["default"] = {"access_key": tenant.key, "secret_key": tenant.secret,
                         "host_base": host, "host_bucket": host, "use_https": "False",
                         "signature_v2": str(signature_v2), "check_ssl_certificate": "False",
                         "bucket_location": tenant.cloud.env["AWS_DEFAULT_REGION"]}
    with open(path, "w") as out:
        config.write(out)
    return path


def s3cmd(config: Path, *args: str) -> subprocess.CompletedProcess:
    binary = Path(sys.executable).with_name("s3cmd")
    command = [str(binary) if binary.exists() else shutil.which("s3cmd") or "s3cmd",
               "-c", str(config), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(not (Path(sys.executable).with_name("s3cmd").exists()
                         or shutil.which("s3cmd")), reason="s3cmd is not installed")
def test_s3cmd_sigv2_acls(cloud, tenants, tmp_path):
    owner, other = tenants
    config = s3cmd_config(owner, tmp_path / "s3cfg", signature_v2=True)
    bucket = unique("s3cmd")
    source = tmp_path / "page.html"
    source.write_bytes(b"<p>hi</p>")
    assert s3cmd(config, "mb", f"s3://{bucket}").returncode == 0
    done = s3cmd(config, "put", "--acl-public", str(source), f"s3://{bucket}/page.html")
    assert done.returncode == 0, done.stderr
    assert anonymous(cloud, "GET", f"{bucket}/page.html") == (200, b"<p>hi</p>")
    done = s3cmd(config, "setacl", "--acl-private", f"s3://{bucket}/page.html")
    assert done.returncode == 0, done.stderr
    assert anonymous(cloud, "GET", f"{bucket}/page.html")[0] == 403
    done = s3cmd(config, "setacl", f"--acl-grant=read:{other.canonical_id}",
                 f"s3://{bucket}/page.html")
    assert done.returncode == 0, done.stderr
    assert other.s3().get_object(Bucket=bucket, Key="page.html")["Body"].read() == b"<p>hi</p>"
    info = s3cmd(config, "info", f"s3://{bucket}/page.html")
    assert info.returncode == 0 and other.name in info.stdout, info.stdout + info.stderr
    theirs = s3cmd(s3cmd_config(other, tmp_path / "other.cfg", True), "ls", f"s3://{bucket}")
    assert theirs.returncode != 0 and "AccessDenied" in theirs.stderr + theirs.stdout
