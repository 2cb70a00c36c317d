"""RunInstances-to-SSH on real guests, against the same guest booted with plain qemu.

Cloud side: ``eucalyptus up`` (QEMU under TCG, the starter image registered at first start),
a fresh ed25519 key pair; for each count N, the clock runs from RunInstances(MinCount=N) until
an SSH login with the key answers on every instance (``ip netns exec <cloud ns> ssh``, as the
README documents); the instances are then terminated.

Plain side: the same kernel, initramfs and command line booted by hand: one instance network
of eucalyptus.cc.vnet (its own namespace, bridge, dnsmasq lease, metadata service holding the
public key, so the guest finds its key as it does in the cloud), a tap per guest made with the
network backend, and ``qemu_argv`` (the command line as data) started directly, no node or
cluster controller. The clock runs from the first tap until every SSH login answers.

The node reports ``max(8, 2 N)`` cores (bench/launch/bighost) so N one-core guests fit on a
small host, where they share its cores as the plain guests do.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from bench.launch.api import BIG_HOST, REPO
from bench.launch.timing import ratio
from tests.loop_thread import LoopThread

BOOT_TIMEOUT = 150.0


def unavailable_reason() -> str:
    """Why real guests cannot run here ("" when they can)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, taps)"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun"
    for exe in ("qemu-system-x86_64", "ssh", "ssh-keygen", "dnsmasq", "ip"):
        if shutil.which(exe) is None:
            return f"{exe} not found"
    return ""


def ssh_argv(netns: str, key: Path, address: str) -> list[str]:
    """The documented one-line login: ``ip netns exec NS ssh -i KEY root@ADDRESS true``."""
    return ["ip", "netns", "exec", netns, "ssh", "-i", str(key), "-o",
            "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o",
            "ConnectTimeout=3", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
            f"root@{address}", "true"]


def wait_ssh(netns: str, key: Path, addresses: list[str], timeout: float) -> None:
    """Return once an SSH login answers on every address; RuntimeError after ``timeout``."""
    pending = set(addresses)
    deadline = time.monotonic() + timeout
    while pending:
        for address in sorted(pending):
            try:
                done = subprocess.run(ssh_argv(netns, key, address), capture_output=True,
                                      timeout=10)
                if done.returncode == 0:
                    pending.discard(address)
            except subprocess.TimeoutExpired:
                pass
        if pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no SSH on {sorted(pending)} within {timeout:.0f} s")
            time.sleep(0.3)


def plain_boot(count: int, work: Path, key: Path, starter) -> float:
    """Seconds from the first tap to SSH on ``count`` guests booted with plain qemu."""
    from eucalyptus.cc.vnet.manager import InstanceNetwork, remove_cloud_network
    from eucalyptus.config import load_settings
    from eucalyptus.drivers import network
    from eucalyptus.drivers.hypervisor.base import InstanceSpec
    from eucalyptus.drivers.hypervisor.qemu import qemu_argv, read_pid

    backend = network.load()
    data = work / f"plain-{count}"
    settings = load_settings(data, env={"EUCA_VNET_SUBNET": "10.68.0.0",
                                        "EUCA_VNET_NETMASK": "255.255.255.0"})
    runtime = Path(tempfile.mkdtemp(prefix="bench-vnet-"))
    runtime.chmod(0o755)                       # dnsmasq drops to nobody
    loop, net = LoopThread(), InstanceNetwork(settings, backend=backend, runtime_dir=runtime)
    dirs: list[Path] = []
    try:
        loop.run(net.start())
        if not net.available:
            raise RuntimeError(f"instance network: {net.error}")
        public = key.with_suffix(".pub").read_text().strip()
        ids = ["i-" + os.urandom(9).hex()[:17] for _ in range(count)]
        attachments = []
        for n, iid in enumerate(ids):
            att = loop.run(net.attach(iid, hostname=f"plain-{n}"))
            net.put_metadata(iid, att.private_ip, {"hostname": f"plain-{n}",
                                                   "public-keys": {"bench": public}})
            attachments.append(att)
        started = time.monotonic()
        for iid, att in zip(ids, attachments):
            tap = "vp" + iid[-13:]
            backend.add_tap(att.netns, tap, att.bridge)
            spec = InstanceSpec(iid, data / iid, vcpus=1, memory_mib=256,
                                kernel=starter.kernel, ramdisk=starter.ramdisk,
                                cmdline=starter.cmdline, mac=att.mac, tap=tap,
                                netns=att.netns)
            spec.instance_dir.mkdir(parents=True)
            dirs.append(spec.instance_dir)
            subprocess.run(qemu_argv(spec, "tcg"), cwd=spec.instance_dir, check=True,
                           capture_output=True, timeout=30)
        wait_ssh(attachments[0].netns, key, [a.private_ip for a in attachments], BOOT_TIMEOUT)
        return time.monotonic() - started
    finally:
        for d in dirs:
            pid = read_pid(d)
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            loop.run(net.stop())
        finally:
            loop.close()
            remove_cloud_network(data, backend, runtime_dir=runtime)
            shutil.rmtree(runtime, ignore_errors=True)


def cloud_boot(cloud, count: int, key_name: str, key: Path, emi: str) -> float:
    """Seconds from RunInstances(MinCount=count) to SSH on all of them; then terminates."""
    from eucalyptus.cc.vnet.netns import namespace_name
    ec2 = cloud.client("ec2")
    started = time.monotonic()
    res = ec2.run_instances(ImageId=emi, MinCount=count, MaxCount=count,
                            InstanceType="t1.micro", KeyName=key_name)
    ids = [i["InstanceId"] for i in res["Instances"]]
    try:
        wait_ssh(namespace_name(cloud.data_dir), key,
                 [i["PrivateIpAddress"] for i in res["Instances"]], BOOT_TIMEOUT)
        return time.monotonic() - started
    finally:
        ec2.terminate_instances(InstanceIds=ids)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out = ec2.describe_instances(InstanceIds=ids)
            states = {i["State"]["Name"] for r in out["Reservations"] for i in r["Instances"]}
            if states <= {"terminated"}:
                break
            time.sleep(0.5)


def run(counts: list[int], work: Path, say=print) -> dict:
    """Both sides for each count: ``{"rows": [{count, cloud, plain, ratio}]}``, or
    ``{"skipped": reason}`` when this host cannot run guests."""
    reason = unavailable_reason()
    if reason:
        return {"skipped": reason}
    from eucalyptus.images.starter import build_starter
    from tests.cloud_fixture import Cloud
    work.mkdir(parents=True, exist_ok=True)
    starter = build_starter()
    key = work / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    rows = [{"count": n, "plain": plain_boot(n, work, key, starter)} for n in counts]
    for row in rows:
        say(f"boot: plain qemu, {row['count']} guest(s): {row['plain']:.1f} s")
    cores = max(8, 2 * max(counts))
    say("boot: starting the cloud with the starter image")
    cloud = Cloud.start(work / "data", {
        "EUCA_NC_POLLING_FREQUENCY": "1", "EUCA_HYPERVISOR": "tcg",
        "BENCH_FAKE_HOST": f"{cores},,",
        "PYTHONPATH": os.pathsep.join((str(BIG_HOST), str(REPO)))}, timeout=300)
    try:
        marker = cloud.data_dir / ".starter-registered"
        deadline = time.monotonic() + 120
        while not marker.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the starter image was not registered")
            time.sleep(0.5)
        emi = json.loads(marker.read_text())["emi"]
        ec2 = cloud.client("ec2")
        ec2.import_key_pair(KeyName="bench-launch",
                            PublicKeyMaterial=key.with_suffix(".pub").read_bytes())
        for row in rows:
            row["cloud"] = cloud_boot(cloud, row["count"], "bench-launch", key, emi)
            row["ratio"] = ratio(row["cloud"], row["plain"])
            say(f"boot: cloud, {row['count']} instance(s): {row['cloud']:.1f} s")
    finally:
        cloud.stop()
    return {"rows": rows}
