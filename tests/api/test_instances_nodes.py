"""A node that disappears makes its instances' state known, not frozen.

A private cloud whose node boots nothing (tests.fakes FakeDriver) launches an instance; the
node controller is then frozen with SIGSTOP (the process stays, it just stops answering, as a
hung or cut-off host does). Within the CC's poll timeout plus the CLC's grace the instance
gains StateReason ``Server.InternalError`` and DescribeInstanceStatus reports it impaired;
after SIGCONT the reason clears and the instance is running and ok again.
"""
from __future__ import annotations

import os
import signal
import uuid

from tests.api.test_instances import FAKE_NODE, register_bundles, wait_states
from tests.polling import wait_for


def _instance(ec2, iid: str) -> dict:
    out = ec2.describe_instances(InstanceIds=[iid])
    return out["Reservations"][0]["Instances"][0]


def test_frozen_node_marks_instance_unreachable_then_recovers(cloud_factory, tmp_path):
    cloud = cloud_factory(extra_env=dict(FAKE_NODE))
    images = register_bundles(cloud, tmp_path, f"nodes-{uuid.uuid4().hex[:6]}")
    ec2 = cloud.client("ec2")
    iid = ec2.run_instances(ImageId=images["machine"], MinCount=1,
                            MaxCount=1)["Instances"][0]["InstanceId"]
    wait_states(ec2, [iid], "running", timeout=60)
    assert "StateReason" not in _instance(ec2, iid)

    nc_pid = cloud.pids()["nc"]
    os.kill(nc_pid, signal.SIGSTOP)
    try:
        # CC poll timeout (5 s) + CLC grace (max(3 * polling, 10) s) + sync intervals.
        lost = wait_for(lambda: (lambda i: i if "StateReason" in i else None)(_instance(ec2, iid)),
                        60, "the unreachable reason")
        assert lost["StateReason"]["Code"] == "Server.InternalError"
        assert "does not answer" in lost["StateReason"]["Message"]
        assert lost["State"]["Name"] == "running"   # last known state kept, not invented
        status = ec2.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"][0]
        assert status["SystemStatus"]["Status"] == "impaired"
    finally:
        os.kill(nc_pid, signal.SIGCONT)

    back = wait_for(lambda: (lambda i: i if "StateReason" not in i else None)(_instance(ec2, iid)),
                    60, "the reason to clear once the node answers")
    assert back["State"]["Name"] == "running"
    status = ec2.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"][0]
    assert status["SystemStatus"]["Status"] == "ok"
    ec2.terminate_instances(InstanceIds=[iid])
    wait_states(ec2, [iid], "terminated", timeout=60)
