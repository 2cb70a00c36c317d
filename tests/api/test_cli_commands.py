"""The installed euca-/euare- console scripts, run as processes against the live cloud with
nothing but eucarc's variables (the in-process tests in test_cli_<family>.py check each family
in detail)."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.api.cli_runner import SQLITE_ONLY

pytestmark = SQLITE_ONLY

BIN = Path(sys.executable).parent


def run(cloud, *argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    merged = {"PATH": os.environ.get("PATH", ""), "HOME": str(cloud.data_dir)}
    merged.update(cloud.env if env is None else env)
    return subprocess.run([str(BIN / argv[0]), *argv[1:]], capture_output=True, text=True,
                          timeout=60, env=merged)


def records(done: subprocess.CompletedProcess) -> list[list[str]]:
    assert done.returncode == 0, done.stderr
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def test_describe_regions_zones_types(cloud):
    regions = records(run(cloud, "euca-describe-regions"))
    assert regions[0][:2] == ["REGION", cloud.env["AWS_DEFAULT_REGION"]]
    zones = records(run(cloud, "euca-describe-availability-zones"))
    assert zones[0][0] == "AVAILABILITYZONE" and zones[0][2] == "available"
    verbose = records(run(cloud, "euca-describe-availability-zones", "verbose"))
    small = [r for r in verbose if r[1] == "|- m1.small"]
    assert small and small[0][0] == "AVAILABILITYZONE"
    free, _, most = small[0][2].split()[:3]
    assert int(most) >= int(free) >= 0
    types = {r[1]: r for r in records(run(cloud, "euca-describe-instance-types"))}
    assert types["m1.small"] == ["INSTANCETYPE", "m1.small", "1", "256", "5"]


def test_eucarc_only_variables(cloud):
    """euca2ools' own variable names are enough: no AWS_* at all."""
    env = {k: cloud.env[k] for k in ("EC2_URL", "EC2_ACCESS_KEY", "EC2_SECRET_KEY")}
    assert records(run(cloud, "euca-describe-regions", env=env))[0][0] == "REGION"


def test_one_line_error_with_code(cloud):
    env = dict(cloud.env, EC2_SECRET_KEY="x" * 40, AWS_SECRET_ACCESS_KEY="x" * 40)
    done = run(cloud, "euca-describe-regions", env=env)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "SignatureDoesNotMatch" in done.stderr


def test_euare_account_user_group_key_policy(cloud):
    account = f"cli{uuid.uuid4().hex[:8]}"
    made = records(run(cloud, "euare-accountcreate", "-a", account))
    assert made[0][0] == account and len(made[0][1]) == 12
    assert account in [r[0] for r in records(run(cloud, "euare-accountlist"))]
    user, group = f"u{uuid.uuid4().hex[:6]}", f"g{uuid.uuid4().hex[:6]}"
    created = records(run(cloud, "euare-usercreate", "-u", user, "-k"))
    assert created[0][0].startswith("AKIA")
    assert any(r[0].endswith(f":user/{user}") for r in records(run(cloud, "euare-userlistbypath")))
    records(run(cloud, "euare-groupcreate", "-g", group))
    records(run(cloud, "euare-groupadduser", "-g", group, "-u", user))
    assert any(r[0].endswith(f"user/{user}") for r in records(
        run(cloud, "euare-grouplistusers", "-g", group)))
    records(run(cloud, "euare-useraddpolicy", "-u", user, "-p", "ro", "-e", "Allow",
                "-a", "ec2:Describe*", "-r", "*"))
    assert records(run(cloud, "euare-userlistpolicies", "-u", user)) == [["ro"]]
    keys = records(run(cloud, "euare-userlistkeys", "-u", user))
    key_id = keys[0][0]
    records(run(cloud, "euare-usermodkey", "-u", user, "-k", key_id, "-s", "Inactive"))
    assert "Inactive" in run(cloud, "euare-userlistkeys", "-u", user).stdout
    conflict = run(cloud, "euare-userdel", "-u", user)
    assert conflict.returncode == 1 and "DeleteConflict" in conflict.stderr
    records(run(cloud, "euare-groupdel", "-g", group, "-r"))
    records(run(cloud, "euare-userdel", "-u", user, "-r"))
    records(run(cloud, "euare-accountdel", "-a", account, "-r"))
    assert account not in [r[0] for r in records(run(cloud, "euare-accountlist"))]
