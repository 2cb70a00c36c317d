"""Images: RegisterImage from manifests and disk objects, visibility, sharing, attributes."""
import asyncio
from pathlib import Path

import pytest

from eucalyptus.aws.dispatch import DispatchTable
from eucalyptus.db.engine import Database, sqlite_url
from eucalyptus.db.schema import Account, CloudProperty
from eucalyptus.errors import ServiceError
from eucalyptus.images import bundle, certificates
from eucalyptus.images.object_reader import ObjectForbidden, ObjectMissing
from eucalyptus.services import ec2
from eucalyptus.services.ec2.images import launchable_image
from tests.fakes.clc_component import FakeClc, request_context

TABLE = DispatchTable("ec2", ec2.HANDLER_MODULES)
A, B, C, CLOUD = "111111111111", "222222222222", "333333333333", "999999999999"
CLOUD_KEY, CLOUD_CERT = certificates.self_signed("cloud", bits=1024)
USER_KEY, USER_CERT = certificates.self_signed("user", bits=1024)


class Store:
    """Objects by (bucket, key) -> (owner account, bytes); only the owner may read."""

    def __init__(self):
        self.objects = {}

    def reader(self, ctx):
        store = self

        class Reader:
            async def get(self, bucket, key, limit=1 << 24):
                owner, data = store.lookup(bucket, key, ctx.account_id)
                return data

            async def size(self, bucket, key):
                return len(store.lookup(bucket, key, ctx.account_id)[1])
        return Reader()

    def lookup(self, bucket, key, account):
        if (bucket, key) not in self.objects:
            raise ObjectMissing(key)
        owner, data = self.objects[(bucket, key)]
        if owner != account:
            raise ObjectForbidden(key)
        return owner, data


class ImageClc(FakeClc):
    def __init__(self):
        super().__init__()
        self.store = Store()
        self.object_reader = self.store.reader
        self.cloud_private_key = CLOUD_KEY


@pytest.fixture
def env(tmp_path):
    db = Database(sqlite_url(tmp_path / "db.sqlite"))
    clc = ImageClc()
    with db.session() as s:
        s.add_all([Account(id=A, name="a"), Account(id=B, name="b"), Account(id=C, name="c"),
                   Account(id=CLOUD, name="eucalyptus")])
        s.flush()
        yield s, clc, tmp_path
    db.dispose()


def call(env, op, account=A, **params):
    session, clc, _ = env
    ctx = request_context(session, clc, operation=op, account_id=account)
    return asyncio.run(TABLE.call(ctx, params))


def code(env, op, account=A, **params):
    with pytest.raises(ServiceError) as err:
        call(env, op, account, **params)
    return err.value.code


def put_bundle(env, account, bucket, name, image_type="machine", cert=CLOUD_CERT, **kw):
    _, clc, tmp = env
    image = tmp / name
    image.write_bytes(name.encode() * 1000)
    out = bundle.make_bundle(bundle.BundleRequest(
        image=image, destination=tmp / f"b-{name}", cloud_cert=cert, user_cert=USER_CERT,
        user_key=USER_KEY, account=account, image_type=image_type, **kw))
    key = out.manifest_path.name
    clc.store.objects[(bucket, key)] = (account, out.manifest_path.read_bytes())
    return f"{bucket}/{key}"


def ids_seen(env, account, **params):
    return sorted(i["ImageId"] for i in call(env, "DescribeImages", account, **params)["Images"])


def test_register_kernel_ramdisk_machine(env):
    eki = call(env, "RegisterImage", Name="kern", ImageLocation=put_bundle(env, A, "bk", "vmlinuz",
                                                                      "kernel"))["ImageId"]
    eri = call(env, "RegisterImage", Name="ramd", ImageLocation=put_bundle(env, A, "bk", "initrd",
                                                                      "ramdisk"))["ImageId"]
    emi = call(env, "RegisterImage", Name="mach", ImageLocation=put_bundle(env, A, "bk", "root.img"),
               KernelId=eki, RamdiskId=eri, Description="my image")["ImageId"]
    assert (eki[:4], eri[:4], emi[:4]) == ("eki-", "eri-", "emi-")
    image = call(env, "DescribeImages", ImageIds=[emi])["Images"][0]
    assert image["KernelId"] == eki and image["RamdiskId"] == eri
    assert image["ImageLocation"] == "bk/root.img.manifest.xml"
    assert image["VirtualizationType"] == "paravirtual" and image["ImageType"] == "machine"
    assert image["Public"] is False and image["OwnerId"] == A and image["State"] == "available"
    assert image["Description"] == "my image" and image["RootDeviceType"] == "instance-store"
    kinds = call(env, "DescribeImages", Filters=[{"Name": "image-type", "Values": ["kernel"]}])
    assert [i["ImageId"] for i in kinds["Images"]] == [eki]
    assert call(env, "DescribeImages", ImageIds=["ami-" + emi[4:]])["Images"][0]["ImageId"] == emi


def test_register_full_disk_object_is_hvm(env):
    env[1].store.objects[("disks", "disk.qcow2")] = (A, b"QFI\xfb" + b"\0" * 100)
    emi = call(env, "RegisterImage", Name="disk", ImageLocation="disks/disk.qcow2")["ImageId"]
    image = call(env, "DescribeImages", ImageIds=[emi])["Images"][0]
    assert image["VirtualizationType"] == "hvm" and "KernelId" not in image


def test_register_errors(env):
    loc = put_bundle(env, A, "bk", "x.img")
    assert code(env, "RegisterImage", Name="mach", ImageLocation="bk/none.manifest.xml") == \
        "InvalidManifest"
    assert code(env, "RegisterImage", B, Name="mach", ImageLocation=loc) == "AuthFailure"
    other_cloud = put_bundle(env, A, "bk", "y.img", cert=USER_CERT)
    assert code(env, "RegisterImage", Name="mach", ImageLocation=other_cloud) == "InvalidManifest"
    env[1].store.objects[("bk", "junk.manifest.xml")] = (A, b"<manifest><oops>")
    assert code(env, "RegisterImage", Name="mach", ImageLocation="bk/junk.manifest.xml") == \
        "InvalidManifest"
    assert code(env, "RegisterImage", Name="mach", ImageLocation="nobucketkey") == \
        "InvalidParameterValue"
    assert code(env, "RegisterImage", Name="x", ImageLocation=loc) == "InvalidAMIName.Malformed"
    assert code(env, "RegisterImage", Name="mach", ImageLocation=loc,
                KernelId="eki-12345678") == "InvalidAMIID.NotFound"
    call(env, "RegisterImage", Name="mach", ImageLocation=loc)
    assert code(env, "RegisterImage", Name="mach", ImageLocation=loc) == "InvalidAMIName.Duplicate"


def test_visibility_sharing_and_public(env):
    emi = call(env, "RegisterImage", Name="img", ImageLocation=put_bundle(env, A, "b", "v.img")
               )["ImageId"]
    assert ids_seen(env, B) == []
    assert code(env, "DescribeImages", B, ImageIds=[emi]) == "InvalidAMIID.NotFound"
    assert code(env, "DescribeImages", B, ImageIds=["bogus"]) == "InvalidAMIID.Malformed"
    assert code(env, "ModifyImageAttribute", B, ImageId=emi,
                Description={"Value": "x"}) == "InvalidAMIID.NotFound"
    call(env, "ModifyImageAttribute", ImageId=emi,
         LaunchPermission={"Add": [{"UserId": B}]})
    assert ids_seen(env, B) == [emi] and ids_seen(env, C) == []
    assert launchable_image(env[0], B, emi).id == emi
    assert ids_seen(env, B, ExecutableUsers=["self"]) == [emi]
    assert ids_seen(env, B, Owners=["self"]) == []
    assert ids_seen(env, B, Owners=[A]) == [emi]
    assert code(env, "ModifyImageAttribute", B, ImageId=emi,
                Description={"Value": "x"}) == "AuthFailure"
    assert code(env, "DeregisterImage", B, ImageId=emi) == "AuthFailure"
    assert code(env, "DescribeImageAttribute", B, ImageId=emi,
                Attribute="launchPermission") == "AuthFailure"
    call(env, "ModifyImageAttribute", ImageId=emi, OperationType="add", UserGroups=["all"])
    assert ids_seen(env, C) == [emi]
    assert ids_seen(env, C, ExecutableUsers=["all"]) == [emi]
    perms = call(env, "DescribeImageAttribute", ImageId=emi, Attribute="launchPermission")
    assert perms["LaunchPermissions"] == [{"Group": "all"}, {"UserId": B}]
    assert call(env, "DescribeImages", C, ImageIds=[emi])["Images"][0]["Public"] is True
    call(env, "ModifyImageAttribute", ImageId=emi,
         LaunchPermission={"Remove": [{"Group": "all"}]})
    assert ids_seen(env, C) == [] and ids_seen(env, B) == [emi]
    call(env, "ResetImageAttribute", ImageId=emi, Attribute="launchPermission")
    assert ids_seen(env, B) == []
    assert code(env, "ModifyImageAttribute", ImageId=emi,
                LaunchPermission={"Add": [{"Group": "friends"}]}) == "InvalidParameterValue"
    assert code(env, "ModifyImageAttribute", ImageId=emi,
                LaunchPermission={"Add": [{"UserId": "12"}]}) == "InvalidUserID.Malformed"
    call(env, "DeregisterImage", ImageId=emi)
    assert ids_seen(env, A) == []
    assert code(env, "DeregisterImage", ImageId=emi) == "InvalidAMIID.NotFound"


def test_description_attribute_and_owner_alias(env):
    emi = call(env, "RegisterImage", CLOUD, Name="starter",
               ImageLocation=put_bundle(env, CLOUD, "sys", "s.img"))["ImageId"]
    call(env, "ModifyImageAttribute", CLOUD, ImageId=emi, Attribute="description",
         Value="the starter")
    got = call(env, "DescribeImageAttribute", CLOUD, ImageId=emi, Attribute="description")
    assert got["Description"] == {"Value": "the starter"}
    call(env, "ModifyImageAttribute", CLOUD, ImageId=emi,
         LaunchPermission={"Add": [{"Group": "all"}]})
    for owner in ("amazon", "eucalyptus"):
        assert ids_seen(env, A, Owners=[owner]) == [emi]
    item = call(env, "DescribeImages", A, ImageIds=[emi])["Images"][0]
    assert item["ImageOwnerAlias"] == "eucalyptus"
    assert ids_seen(env, A, Filters=[{"Name": "owner-alias", "Values": ["eucalyptus"]}]) == [emi]
    assert code(env, "DescribeImages", Owners=["nobody"]) == "InvalidParameterValue"
    assert code(env, "DescribeImages", Filters=[{"Name": "x", "Values": ["y"]}]) == \
        "InvalidParameterValue"


def test_public_by_default_property_and_paging(env):
    env[0].add(CloudProperty(name="cloud.images.public_by_default", value="true"))
    made = [call(env, "RegisterImage", Name=f"pic{i}",
                 ImageLocation=put_bundle(env, A, "pg", f"p{i}.img"))["ImageId"] for i in range(6)]
    assert ids_seen(env, B) == sorted(made)
    first = call(env, "DescribeImages", B, MaxResults=5)
    rest = call(env, "DescribeImages", B, MaxResults=5, NextToken=first["NextToken"])
    assert len(first["Images"]) == 5 and len(rest["Images"]) == 1 and "NextToken" not in rest


def test_service_certificate(env):
    session, clc, _ = env
    clc.cloud_certificate_pem = certificates.cert_pem(CLOUD_CERT).decode()
    got = call(env, "DescribeServiceCertificates")["Certificates"][0]
    assert got["CertificateUsage"] == "image-bundling"
    assert certificates.load_certificate(got["Certificate"]) == CLOUD_CERT
    assert code(env, "DescribeServiceCertificates", Format="xml") == "InvalidParameterValue"
