"""Images: RegisterImage from manifests and disk objects, visibility, sharing, attributes."""
import asyncio
import hashlib
from pathlib import Path

import pytest

from eucalyptus.aws.dispatch import DispatchTable
from eucalyptus.db.engine import Database, sqlite_url
from eucalyptus.db.images import SigningCertificate
from eucalyptus.db.schema import Account, CloudProperty, User
from eucalyptus.errors import ServiceError
from cryptography.hazmat.primitives import hashes
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

            async def head(self, bucket, key):
                data = store.lookup(bucket, key, ctx.account_id)[1]
                return len(data), hashlib.md5(data).hexdigest()

            async def first_bytes(self, bucket, key, count):
                return store.lookup(bucket, key, ctx.account_id)[1][:count]
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
        s.add_all([User(id=f"AIDA{acct}", account_id=acct, name="admin", is_root=True)
                   for acct in (A, B, C, CLOUD)])
        s.flush()
        s.add(signing_certificate(A, USER_CERT))
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


def signing_certificate(account, cert, active=True):
    return SigningCertificate(id=cert.fingerprint(hashes.SHA1()).hex(), account_id=account,
                              user_id=f"AIDA{account}", body=certificates.cert_pem(cert).decode(),
                              active=active)


def put_bundle(env, account, bucket, name, image_type="machine", cert=CLOUD_CERT, signer=None,
               **kw):
    """Bundle and store; signed by account A's user certificate, or the cloud's key for the
    cloud's own account, unless ``signer`` is given."""
    _, clc, tmp = env
    image = tmp / name
    image.write_bytes(name.encode() * 1000)
    signer = signer or (CLOUD_KEY if account == CLOUD else USER_KEY)
    out = bundle.make_bundle(bundle.BundleRequest(
        image=image, destination=tmp / f"b-{name}", cloud_cert=cert, user_cert=USER_CERT,
        user_key=signer, account=account, image_type=image_type, **kw))
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
    env[1].store.objects[("disks", "disk.qcow2")] = (A, b"QFI\xfb\0\0\0\x03" + b"\0" * 100)
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


def test_manifest_signature_must_verify(env):
    stranger_key, stranger_cert = certificates.self_signed("stranger", bits=1024)
    unknown = put_bundle(env, A, "bk", "u.img", signer=stranger_key)
    assert code(env, "RegisterImage", Name="unknown", ImageLocation=unknown) == "InvalidManifest"
    # another account's certificate does not vouch for this one
    env[0].add(signing_certificate(B, stranger_cert))
    env[0].flush()
    assert code(env, "RegisterImage", Name="unknown", ImageLocation=unknown) == "InvalidManifest"
    env[1].store.objects[("bkb", "u.img.manifest.xml")] = (
        B, env[1].store.objects[("bk", "u.img.manifest.xml")][1])
    assert call(env, "RegisterImage", B, Name="theirs",
                ImageLocation="bkb/u.img.manifest.xml")["ImageId"]
    # a manifest altered after signing (its image digest changed) is refused
    good = put_bundle(env, A, "bk", "g.img")
    owner, raw = env[1].store.objects[("bk", "g.img.manifest.xml")]
    text = raw.decode()
    start = text.index('<digest algorithm="SHA1">') + len('<digest algorithm="SHA1">')
    flipped = "0" if text[start] != "0" else "1"
    env[1].store.objects[("bk", "bad.manifest.xml")] = (
        owner, (text[:start] + flipped + text[start + 1:]).encode())
    assert code(env, "RegisterImage", Name="altered", ImageLocation="bk/bad.manifest.xml") == \
        "InvalidManifest"
    unsigned = text[:text.index("<signature>")] + "<signature></signature></manifest>\n"
    env[1].store.objects[("bk", "unsigned.manifest.xml")] = (owner, unsigned.encode())
    assert code(env, "RegisterImage", Name="unsigned",
                ImageLocation="bk/unsigned.manifest.xml") == "InvalidManifest"
    # an inactive certificate no longer vouches
    row = env[0].get(SigningCertificate, USER_CERT.fingerprint(hashes.SHA1()).hex())
    row.active = False
    env[0].flush()
    assert code(env, "RegisterImage", Name="good", ImageLocation=good) == "InvalidManifest"
    row.active = True
    env[0].flush()
    assert call(env, "RegisterImage", Name="good", ImageLocation=good)["ImageId"]


def test_deregistered_images_vanish_but_keep_their_row(env):
    loc = put_bundle(env, A, "bk", "d.img")
    emi = call(env, "RegisterImage", Name="gone", ImageLocation=loc)["ImageId"]
    call(env, "ModifyImageAttribute", ImageId=emi,
         LaunchPermission={"Add": [{"UserId": B}]})
    assert call(env, "DeregisterImage", ImageId=emi) == {"Return": True}
    assert emi not in ids_seen(env, A) and emi not in ids_seen(env, B)
    assert code(env, "DescribeImages", ImageIds=[emi]) == "InvalidAMIID.NotFound"
    assert code(env, "DeregisterImage", ImageId=emi) == "InvalidAMIID.NotFound"
    assert code(env, "DescribeImageAttribute", ImageId=emi, Attribute="description") == \
        "InvalidAMIID.NotFound"
    with pytest.raises(ServiceError) as err:
        launchable_image(env[0], A, emi)
    assert err.value.code == "InvalidAMIID.Unavailable"
    with pytest.raises(ServiceError) as err:     # its shares went with it
        launchable_image(env[0], B, emi)
    assert err.value.code == "InvalidAMIID.NotFound"
    again = call(env, "RegisterImage", Name="gone", ImageLocation=loc)["ImageId"]
    assert again != emi and ids_seen(env, A) == [again]


def test_disk_object_records_size_and_etag_and_refuses_backing_files(env):
    from eucalyptus.db.images import Image
    data = b"QFI\xfb" + (3).to_bytes(4, "big") + b"\0" * 200
    env[1].store.objects[("disks", "ok.qcow2")] = (A, data)
    emi = call(env, "RegisterImage", Name="okdisk", ImageLocation="disks/ok.qcow2",
               VirtualizationType="hvm")["ImageId"]
    row = env[0].get(Image, emi)
    assert (row.source, row.size_bytes, row.digest) == ("object", len(data),
                                                        hashlib.md5(data).hexdigest())
    backed = b"QFI\xfb" + (3).to_bytes(4, "big") + (512).to_bytes(8, "big") + b"\0" * 200
    env[1].store.objects[("disks", "backed.qcow2")] = (A, backed)
    assert code(env, "RegisterImage", Name="backed", ImageLocation="disks/backed.qcow2") == \
        "InvalidParameterValue"
    env[1].store.objects[("disks", "empty.raw")] = (A, b"")
    assert code(env, "RegisterImage", Name="empty", ImageLocation="disks/empty.raw") == \
        "InvalidParameterValue"
