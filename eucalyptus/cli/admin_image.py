"""``eucalyptus image build-starter [--data-dir DIR] [--output D]``: build the starter image.

Writes vmlinux, initramfs.cpio.gz and starter.json (digests) into ``--output`` (default
DIR/cache/starter, or ~/.cache/eucalyptus/starter without ``--data-dir``) and prints where they
are. Needs no initialised data directory and no running cloud.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_parser(sub) -> None:
    """Register ``image`` and its subcommands on the admin command's subparsers."""
    p = sub.add_parser("image", help="starter image tools", description="starter image tools")
    images = p.add_subparsers(dest="image_command", required=True)
    b = images.add_parser("build-starter", help="build the starter kernel and initramfs")
    b.add_argument("--data-dir", type=Path, default=None,
                   help="data directory whose cache/ holds the build (default: user cache)")
    b.add_argument("--output", type=Path, default=None, help="output directory")
    b.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from eucalyptus.images.starter import KernelError, build_starter, default_cache_dir
    cache = args.data_dir / "cache" if args.data_dir else default_cache_dir()
    started = time.monotonic()
    try:
        image = build_starter(cache, args.output)
    except (KernelError, FileNotFoundError) as exc:
        print(f"eucalyptus: error: {exc}", file=sys.stderr)
        return 1
    print(f"kernel   {image.kernel}  ({image.kernel_release}, sha256 {image.kernel_sha256})")
    print(f"ramdisk  {image.ramdisk}  (sha256 {image.ramdisk_sha256})")
    print(f"cmdline  {image.cmdline}")
    print(f"built in {time.monotonic() - started:.1f} s; description in {image.description}")
    return 0
