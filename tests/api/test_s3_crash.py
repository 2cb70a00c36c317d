"""Crash safety: SIGKILL Walrus in the middle of big uploads and a multipart upload, restart
it, and every object is either whole (its ETag and bytes match) or absent; nothing half
written is left in the blob store."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config
from sqlalchemy import create_engine, text

from eucalyptus.config import load_settings
from eucalyptus.credentials import parse_eucarc
from eucalyptus.drivers.objects.segments import is_segment_id
from tests.api.blob_census import blob_files, named_runs, segment_runs
from tests.cloud_fixture import admin_command, clean_environment, free_port_base

MIB = 1 << 20


def _start(data: Path) -> subprocess.Popen:
    log = open(data.parent / "walrus.log", "ab")
    return subprocess.Popen(admin_command("serve", "walrus", "--data-dir", str(data)),
                            env=clean_environment(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _client(data: Path, port: int):
    env = parse_eucarc((data / "credentials" / "eucarc").read_text())
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}",
                        region_name=env["AWS_DEFAULT_REGION"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"},
                                      read_timeout=60, connect_timeout=2))


def _wait_up(client) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            client.list_buckets()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _kill(proc: subprocess.Popen, data: Path) -> None:
    workers = data / "run" / "walrus-workers.pid"
    pids = [int(p) for p in workers.read_text().split()] if workers.exists() else []
    os.kill(proc.pid, signal.SIGKILL)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(10)


def test_sigkill_during_uploads_leaves_objects_whole_or_absent(tmp_path):
    data = tmp_path / "data"
    base = free_port_base()
    made = subprocess.run(admin_command("init", "--data-dir", str(data), "--port-base",
                                        str(base)), env=clean_environment(),
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    port = base + 4
    proc = _start(data)
    try:
        s3 = _client(data, port)
        _wait_up(s3)
        s3.create_bucket(Bucket="crash")
        bodies = {f"obj{i}": os.urandom(MIB) * (24 + 8 * i) for i in range(4)}
        s3.put_object(Bucket="crash", Key="early", Body=b"committed before the crash")
        part = os.urandom(5 * MIB)
        upload = s3.create_multipart_upload(Bucket="crash", Key="multi")["UploadId"]
        s3.upload_part(Bucket="crash", Key="multi", UploadId=upload, PartNumber=1, Body=part)

        def put(key: str) -> None:
            try:
                _client(data, port).put_object(Bucket="crash", Key=key, Body=bodies[key])
            except Exception:
                pass

        def parts() -> None:
            client = _client(data, port)
            try:
                for number in range(2, 30):
                    client.upload_part(Bucket="crash", Key="multi", UploadId=upload,
                                       PartNumber=number, Body=part)
            except Exception:
                pass

        small = {f"small{i}": os.urandom(100 + 997 * i % 9000) for i in range(3000)}

        def smalls() -> None:           # packed into segment files, overwritten now and then
            client = _client(data, port)
            try:
                for i, key in enumerate(small):
                    client.put_object(Bucket="crash", Key=key, Body=small[key])
                    if i % 10 == 9:
                        client.put_object(Bucket="crash", Key=key, Body=small[key])
            except Exception:
                pass

        threads = [threading.Thread(target=put, args=(k,)) for k in bodies]
        threads += [threading.Thread(target=parts), threading.Thread(target=smalls)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        _kill(proc, data)
        for thread in threads:
            thread.join(60)
        proc = _start(data)
        s3 = _client(data, port)
        _wait_up(s3)
        assert list((data / "walrus" / "tmp").iterdir()) == []   # partial uploads removed
        assert s3.get_object(Bucket="crash", Key="early")["Body"].read() == \
            b"committed before the crash"
        listed = {o["Key"]: o for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket="crash") for o in page.get("Contents", [])}
        assert any(key in listed for key in small)
        for key, body in {**bodies, **small}.items():
            if key in listed:
                got = s3.get_object(Bucket="crash", Key=key)["Body"].read()
                assert got == body, key
                assert listed[key]["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
        stored = s3.list_parts(Bucket="crash", Key="multi", UploadId=upload)["Parts"]
        assert stored and stored[0]["PartNumber"] == 1
        expected = f'"{hashlib.md5(part).hexdigest()}"'
        assert all(p["ETag"] == expected and p["Size"] == len(part) for p in stored)
        done = s3.complete_multipart_upload(
            Bucket="crash", Key="multi", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]}
                                       for p in stored]})
        assert done["ETag"].endswith(f'-{len(stored)}"')
        got = s3.get_object(Bucket="crash", Key="multi")["Body"].read()
        assert got == part * len(stored)
        # every blob on disk is named by a row: nothing unnamed survived the restart sweep
        engine = create_engine(load_settings(data, env={}).database_url)
        with engine.connect() as conn:
            named = {row[0] for row in conn.execute(text(
                "SELECT blob FROM s3_objects WHERE blob IS NOT NULL "
                "UNION SELECT blob FROM s3_parts WHERE blob IS NOT NULL"))}
        engine.dispose()
        assert blob_files(data / "walrus") == {b for b in named if not is_segment_id(b)}
        assert segment_runs(data / "walrus") == named_runs(named)   # small ones: packed
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                _kill(proc, data)
