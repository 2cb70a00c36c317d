"""The AWS CLI (``aws s3``, ``aws s3api``) and s3cmd against Walrus."""
from __future__ import annotations

import hashlib
import json
import os

from tests.api.s3_clients import bucket, s3, s3cmd, unique_bucket  # noqa: F401


def test_aws_cli(cloud, bucket, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("alpha")
    (src / "sub").mkdir()
    big = os.urandom(9 << 20)          # above the CLI's 8 MiB multipart threshold
    (src / "sub" / "big.bin").write_bytes(big)
    synced = cloud.aws("s3", "sync", str(src), f"s3://{bucket}/tree")
    assert synced.returncode == 0, synced.stderr
    listed = cloud.aws("s3", "ls", "--recursive", f"s3://{bucket}/")
    assert "tree/a.txt" in listed.stdout and "tree/sub/big.bin" in listed.stdout
    back = tmp_path / "back.bin"
    got = cloud.aws("s3", "cp", f"s3://{bucket}/tree/sub/big.bin", str(back))
    assert got.returncode == 0, got.stderr
    assert hashlib.md5(back.read_bytes()).digest() == hashlib.md5(big).digest()
    head = cloud.aws("s3api", "head-object", "--bucket", bucket, "--key", "tree/a.txt")
    assert head.returncode == 0, head.stderr
    assert json.loads(head.stdout)["ContentLength"] == 5
    small = cloud.aws("s3", "cp", f"s3://{bucket}/tree/a.txt", "-")   # a packed small blob
    assert small.returncode == 0 and small.stdout == "alpha", small.stderr
    missing = cloud.aws("s3api", "get-object", "--bucket", bucket, "--key", "nope",
                        str(tmp_path / "x"))
    assert missing.returncode != 0 and "NoSuchKey" in missing.stderr
    removed = cloud.aws("s3", "rm", "--recursive", f"s3://{bucket}/tree")
    assert removed.returncode == 0, removed.stderr
    assert cloud.aws("s3", "ls", f"s3://{bucket}/").stdout.strip() == ""


def test_aws_cli_bucket_commands(cloud):
    name = unique_bucket("cli")
    made = cloud.aws("s3", "mb", f"s3://{name}")
    assert made.returncode == 0, made.stderr
    assert name in cloud.aws("s3", "ls").stdout
    location = cloud.aws("s3api", "get-bucket-location", "--bucket", name)
    assert location.returncode == 0, location.stderr
    removed = cloud.aws("s3", "rb", f"s3://{name}")
    assert removed.returncode == 0, removed.stderr


def test_s3cmd(s3cmd, s3, tmp_path):
    name = unique_bucket("cmd")
    made = s3cmd("mb", f"s3://{name}")
    assert made.returncode == 0, made.stdout + made.stderr
    try:
        small = tmp_path / "hello.txt"
        small.write_text("hello s3cmd")
        big = tmp_path / "big.bin"
        big.write_bytes(os.urandom(17 << 20))        # s3cmd's multipart chunks are 15 MiB
        for path in (small, big):
            put = s3cmd("put", str(path), f"s3://{name}/dir/{path.name}")
            assert put.returncode == 0, put.stdout + put.stderr
        listed = s3cmd("ls", f"s3://{name}/dir/")
        assert "hello.txt" in listed.stdout and "big.bin" in listed.stdout, listed.stderr
        out = tmp_path / "out.bin"
        got = s3cmd("get", f"s3://{name}/dir/big.bin", str(out))
        assert got.returncode == 0, got.stdout + got.stderr
        assert out.read_bytes() == big.read_bytes()
        info = s3cmd("info", f"s3://{name}/dir/hello.txt")
        assert info.returncode == 0 and "11" in info.stdout
        assert s3.get_object(Bucket=name, Key="dir/hello.txt")["Body"].read() == b"hello s3cmd"
        deleted = s3cmd("del", "--recursive", "--force", f"s3://{name}/dir/")
        assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    finally:
        removed = s3cmd("rb", f"s3://{name}")
    assert removed.returncode == 0, removed.stdout + removed.stderr
