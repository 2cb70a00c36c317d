"""euca-bundle-image, euca-upload-bundle, euca-bundle-and-upload-image, euca-install-image,
euca-download-bundle, euca-unbundle.

Keys used for bundling, first match wins:

cloud certificate  --ec2cert FILE; $EUCALYPTUS_CERT; else fetched from the cloud with
                   DescribeServiceCertificates (needs EC2_URL and keys).
user key + cert    -k/--privatekey and -c/--cert; $EC2_PRIVATE_KEY and $EC2_CERT; else a pair
                   kept in ~/.euca/bundle-pk.pem and bundle-cert.pem, made on first use. The
                   manifest is signed with it and the bundle key encrypted for it, so the same
                   key opens the bundle with euca-unbundle.
account            -u/--user; $EC2_USER_ID.

The cloud accepts a bundle (RegisterImage) only when its manifest is signed with one of the
account's IAM signing certificates. Before bundling, the commands therefore make sure the user
certificate is one (ListSigningCertificates, UploadSigningCertificate) when the cloud can be
reached with the caller's credentials; --no-upload-cert skips that (bundling off-cloud: then
upload it with ``aws iam upload-signing-certificate`` before registering).

Progress goes to stderr (a bar on a terminal, percentage lines otherwise; --quiet silences).
Each command prints its result on stdout and exits 0, or prints one error line and exits 1.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Callable

from eucalyptus.cli.command import describe_error
from eucalyptus.cli.connection import CommandError, add_connection_arguments, connect
from eucalyptus.images import certificates
from eucalyptus.images import manifest as mf
from eucalyptus.images.bundle import BundleRequest, make_bundle
from eucalyptus.images.progress import reporter
from eucalyptus.images.transfer import DEFAULT_ACL, Location, download_bundle, upload_bundle
from eucalyptus.images.unbundle import directory_parts, unbundle

USER_KEY_FILE, USER_CERT_FILE = "bundle-pk.pem", "bundle-cert.pem"


def _file_from_env(name: str) -> Path | None:
    value = os.path.expandvars(os.environ.get(name, "")).strip()
    return Path(value) if value and "$" not in value and Path(value).is_file() else None


def user_keys(args: argparse.Namespace):
    """(private key, certificate) of the bundling user, by the order in the module docstring."""
    key_path = args.privatekey or _file_from_env("EC2_PRIVATE_KEY")
    cert_path = args.cert or _file_from_env("EC2_CERT")
    if bool(key_path) != bool(cert_path):
        raise CommandError("-k/--privatekey and -c/--cert go together")
    if not key_path:
        home = Path(os.path.expanduser("~")) / ".euca"
        key_path, cert_path = home / USER_KEY_FILE, home / USER_CERT_FILE
        if not (key_path.exists() and cert_path.exists()):
            key, cert = certificates.self_signed(os.environ.get("USER", "user"))
            certificates.write_pair(key, cert, key_path, cert_path)
    try:
        return (certificates.load_private_key(Path(key_path).read_bytes()),
                certificates.load_certificate(Path(cert_path).read_bytes()))
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read the bundling key or certificate: {exc}") from None


def cloud_certificate(args: argparse.Namespace):
    path = args.ec2cert or _file_from_env("EUCALYPTUS_CERT")
    if path:
        try:
            return certificates.load_certificate(Path(path).read_bytes())
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read the cloud certificate {path}: {exc}") from None
    client, _ = connect("ec2", args)
    found = client.describe_service_certificates()["Certificates"]
    usable = [c for c in found if c.get("CertificateUsage") == "image-bundling"]
    if not usable:
        raise CommandError("the cloud offers no image-bundling certificate; use --ec2cert")
    return certificates.load_certificate(usable[0]["Certificate"])


def ensure_signing_certificate(args: argparse.Namespace, cert) -> str:
    """Upload ``cert`` as the caller's IAM signing certificate unless it is one already; a
    note on stderr (never an error) when the cloud cannot be asked."""
    if getattr(args, "no_upload_cert", False):
        return "skipped"
    body = certificates.cert_pem(cert).decode()
    try:
        iam, _ = connect("iam", args)
        known = iam.list_signing_certificates()["Certificates"]
        if any(c["CertificateBody"].strip() == body.strip() for c in known):
            return "known"
        iam.upload_signing_certificate(CertificateBody=body)
        return "uploaded"
    except Exception as exc:  # bundling still works off-cloud
        print(f"note: the bundling certificate is not registered with the cloud "
              f"({describe_error(exc)}); RegisterImage needs it as a signing certificate",
              file=sys.stderr)
        return "failed"


def _add_bundle_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--image", required=True, type=Path, help="the image file")
    parser.add_argument("-p", "--prefix", help="file name prefix of the bundle (default: the "
                        "image's file name)")
    parser.add_argument("-r", "--arch", default="x86_64", choices=("i386", "x86_64", "arm64"))
    parser.add_argument("--image-type", default="machine", choices=mf.IMAGE_TYPES)
    parser.add_argument("--kernel", metavar="EKI", help="kernel the image boots with")
    parser.add_argument("--ramdisk", metavar="ERI", help="ramdisk the image boots with")
    parser.add_argument("-c", "--cert", type=Path, help="your X.509 certificate (PEM)")
    parser.add_argument("-k", "--privatekey", type=Path, help="your RSA private key (PEM)")
    parser.add_argument("--ec2cert", type=Path, help="the cloud's certificate (PEM)")
    parser.add_argument("-u", "--user", help="your account id")
    parser.add_argument("--no-upload-cert", action="store_true",
                        help="do not register your certificate with the cloud")


def _common(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--quiet", action="store_true", help="show no progress")
    add_connection_arguments(parser)
    return parser


def _bundle(args: argparse.Namespace, destination: Path):
    key, cert = user_keys(args)
    ensure_signing_certificate(args, cert)
    return make_bundle(BundleRequest(
        image=args.image, destination=destination, cloud_cert=cloud_certificate(args),
        user_cert=cert, user_key=key, account=args.user or os.environ.get("EC2_USER_ID", ""),
        prefix=args.prefix, image_type=args.image_type, architecture=args.arch,
        kernel_id=args.kernel, ramdisk_id=args.ramdisk), reporter(args.quiet))


def _upload(args: argparse.Namespace, manifest_path: Path) -> str:
    s3, _ = connect("s3", args)
    return upload_bundle(s3, manifest_path, Location.parse(args.bucket),
                         getattr(args, "directory", None), args.acl, reporter(args.quiet))


def _register(args: argparse.Namespace, location: str) -> str:
    ec2, _ = connect("ec2", args)
    params = {"ImageLocation": location, "Name": args.name}
    for flag, param in (("description", "Description"), ("kernel", "KernelId"),
                        ("ramdisk", "RamdiskId"), ("arch", "Architecture"),
                        ("virtualization_type", "VirtualizationType")):
        if getattr(args, flag, None):
            params[param] = getattr(args, flag)
    return ec2.register_image(**params)["ImageId"]


def _main(name: str, parser: argparse.ArgumentParser,
          body: Callable[[argparse.Namespace], list[str]], argv) -> int:
    args = parser.parse_args(argv)
    if getattr(args, "image", None) is not None and not Path(args.image).is_file():
        print(f"{name}: error: no such image file: {args.image}", file=sys.stderr)
        return 1
    try:
        for line in body(args):
            print(line)
    except Exception as exc:  # one error line and status 1, as every command
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"{name}: {describe_error(exc)}", file=sys.stderr)
        return 1
    return 0


def bundle_image(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="euca-bundle-image",
                                     description="Bundle an image file for upload.")
    _add_bundle_arguments(parser)
    parser.add_argument("-d", "--destination", type=Path, default=Path("."),
                        help="directory for the parts and manifest (default: .)")
    return _main("euca-bundle-image", _common(parser),
                 lambda a: [f"Wrote manifest {_bundle(a, a.destination).manifest_path}"], argv)


def _upload_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-b", "--bucket", required=True, help="BUCKET or BUCKET/PREFIX")
    parser.add_argument("--acl", default=DEFAULT_ACL, help=f"canned ACL (default {DEFAULT_ACL})")


def upload_bundle_command(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="euca-upload-bundle",
                                     description="Upload a bundle (parts, then manifest).")
    _upload_arguments(parser)
    parser.add_argument("-m", "--manifest", required=True, type=Path)
    parser.add_argument("--directory", type=Path, help="where the parts are (default: the "
                        "manifest's directory)")
    return _main("euca-upload-bundle", _common(parser),
                 lambda a: [f"Uploaded {_upload(a, a.manifest)}"], argv)


def _bundle_and_upload(args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory(prefix="bundle-", dir=args.workdir) as tmp:
        result = _bundle(args, Path(tmp))
        return _upload(args, result.manifest_path)


def bundle_and_upload_image(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="euca-bundle-and-upload-image",
                                     description="Bundle an image and upload it.")
    _add_bundle_arguments(parser)
    _upload_arguments(parser)
    parser.add_argument("--workdir", help="where to keep the parts meanwhile (default: temp)")
    return _main("euca-bundle-and-upload-image", _common(parser),
                 lambda a: [f"Uploaded {_bundle_and_upload(a)}"], argv)


def install_image(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="euca-install-image",
                                     description="Bundle, upload and register an image.")
    _add_bundle_arguments(parser)
    _upload_arguments(parser)
    parser.add_argument("-n", "--name", required=True, help="name of the new image")
    parser.add_argument("--description")
    parser.add_argument("--virtualization-type", choices=("paravirtual", "hvm"))
    parser.add_argument("--workdir", help="where to keep the parts meanwhile (default: temp)")
    return _main("euca-install-image", _common(parser),
                 lambda a: [f"IMAGE\t{_register(a, _bundle_and_upload(a))}"], argv)


def _download(args: argparse.Namespace) -> list[str]:
    s3, _ = connect("s3", args)
    location = Location.parse(args.bucket)
    name = args.manifest or f"{args.prefix}.manifest.xml"
    path = download_bundle(s3, location, name, args.directory, reporter(args.quiet))
    return [f"Wrote {path}"]


def download_bundle_command(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="euca-download-bundle",
                                     description="Download a bundle, checking every part.")
    parser.add_argument("-b", "--bucket", required=True, help="BUCKET or BUCKET/PREFIX")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("-m", "--manifest", help="the manifest's file name")
    which.add_argument("-p", "--prefix", help="the bundle's prefix (PREFIX.manifest.xml)")
    parser.add_argument("-d", "--directory", type=Path, default=Path("."))
    return _main("euca-download-bundle", _common(parser), _download, argv)


def _unbundle(args: argparse.Namespace) -> list[str]:
    if args.privatekey:
        try:
            key = certificates.load_private_key(Path(args.privatekey).read_bytes())
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read the private key: {exc}") from None
    else:
        key, _ = user_keys(args)
    man = mf.parse(Path(args.manifest).read_text())
    aes, iv = mf.bundle_key(key, man, "user")
    source = args.source or Path(args.manifest).parent
    target = Path(args.destination) / man.image_name
    unbundle(man, directory_parts(source), aes, iv, target, reporter(args.quiet))
    return [f"Wrote {target}"]


def unbundle_command(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="euca-unbundle",
                                     description="Rebuild the image of a bundle.")
    parser.add_argument("-m", "--manifest", required=True, type=Path)
    parser.add_argument("-s", "--source", type=Path, help="where the parts are")
    parser.add_argument("-d", "--destination", type=Path, default=Path("."))
    parser.add_argument("-k", "--privatekey", type=Path, help="your RSA private key (PEM)")
    parser.add_argument("-c", "--cert", type=Path, help="your X.509 certificate (PEM)")
    parser.add_argument("--quiet", action="store_true", help="show no progress")
    parser.add_argument("--debug", action="store_true")
    return _main("euca-unbundle", parser, _unbundle, argv)
