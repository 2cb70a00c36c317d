"""Running the euca-/euare- commands inside the test process against the worker's cloud.

``CommandRunner(cloud, monkeypatch, home)`` gives the process exactly the environment a user
has after sourcing the cloud's eucarc (nothing else of the machine's AWS settings; empty AWS
config files under ``home``), so a command finds its endpoint, keys and region as it would in
a shell. ``runner(command, *argv)`` runs one command and returns a :class:`Ran`.

``runner.new_account()`` makes a fresh account with a key for its admin (as the cloud admin,
through a botocore client) and ``runner.act_as(key)`` signs the following commands with it, so
the tests of a family list and count inside an account of their own, untouched by the other
tests sharing the cloud. ``close()`` deletes every account made, with all it holds.

Fixtures for the test modules to import: ``cli`` (a runner) and ``account`` (a fresh account
whose admin signs the test's commands). The live command tests run on the SQLite cloud only
(:data:`SQLITE_ONLY`): the database variants are the API tests' concern, and the commands only
speak HTTP.
"""
from __future__ import annotations

import contextlib
import io
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from botocore.config import Config

from eucalyptus.cli.accounts import ACCOUNT_ADMIN, delegate_to
from eucalyptus.cli.connection import botocore_session

#: pytestmark of the live command modules: the session's cloud, SQLite parametrisation only.
SQLITE_ONLY = pytest.mark.parametrize("cloud", ["sqlite"], indirect=True)

#: environment variables a command may read; none leaks in from the machine running the tests
COMMAND_VARIABLE_PREFIXES = ("AWS_", "EC2_", "EUARE_", "TOKEN_", "S3_", "EUCA_")


@dataclass
class Ran:
    """What one command did: exit status, stdout lines, stderr text."""
    status: int
    out: list[str]
    err: str

    def ok(self) -> list[str]:
        """The stdout lines, after checking the command succeeded silently on stderr."""
        assert (self.status, self.err) == (0, ""), self.err
        return self.out


@dataclass
class Key:
    """An access key and the account and user it belongs to."""
    key_id: str
    secret: str
    account_name: str = ""
    account_id: str = ""
    user_name: str = ACCOUNT_ADMIN


def unique(prefix: str) -> str:
    """A name no other test on the shared cloud uses."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


class CommandRunner:
    def __init__(self, cloud: Any, monkeypatch: pytest.MonkeyPatch, home: Path):
        self.cloud = cloud
        self.env = monkeypatch
        self.home = home
        self.accounts: list[str] = []
        for name in list(os.environ):
            if name.startswith(COMMAND_VARIABLE_PREFIXES):
                monkeypatch.delenv(name)
        for name, value in cloud.env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "aws-credentials"))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        self.admin = Key(cloud.env["EC2_ACCESS_KEY"], cloud.env["EC2_SECRET_KEY"], "eucalyptus",
                         cloud.env["EC2_ACCOUNT_NUMBER"])

    def __call__(self, command: Callable[[list[str]], int], *argv: str) -> Ran:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = command(list(argv))
        return Ran(status, out.getvalue().splitlines(), err.getvalue())

    def act_as(self, key: Key) -> None:
        """Sign the following commands with ``key`` (both eucarc and AWS variable names)."""
        for name in ("EC2_ACCESS_KEY", "AWS_ACCESS_KEY_ID"):
            self.env.setenv(name, key.key_id)
        for name in ("EC2_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"):
            self.env.setenv(name, key.secret)

    def iam(self, key: Key | None = None) -> Any:
        """A botocore IAM client of the cloud, as ``key`` (default: the cloud admin), made from
        the commands' own session factory (so the models are read once per process)."""
        key = key or self.admin
        return botocore_session().create_client(
            "iam", region_name=self.cloud.env["AWS_DEFAULT_REGION"],
            endpoint_url=self.cloud.env["EUARE_URL"], aws_access_key_id=key.key_id,
            aws_secret_access_key=key.secret, config=Config(retries={"max_attempts": 1}))

    def new_account(self) -> Key:
        """A new account, and a new key of its admin user; deleted by :meth:`close`."""
        admin = self.iam()
        name = unique("cli")
        account = admin.create_account(AccountName=name)["Account"]
        self.accounts.append(name)
        delegate_to(admin, "CreateAccessKey", name)
        made = admin.create_access_key(UserName=ACCOUNT_ADMIN)["AccessKey"]
        return Key(made["AccessKeyId"], made["SecretAccessKey"], name, account["AccountId"])

    def forget_account(self, name: str) -> None:
        """The test deleted account ``name`` itself."""
        self.accounts.remove(name)

    def close(self) -> None:
        """Delete the accounts made, after putting back the environment the test changed."""
        self.env.undo()
        if not self.accounts:
            return
        admin = self.iam()
        names = {a["AccountName"] for a in admin.list_accounts()["Accounts"]}
        for name in self.accounts:
            if name in names:
                admin.delete_account(AccountName=name, Recursive=True)
        self.accounts.clear()


@pytest.fixture
def cli(cloud, monkeypatch, tmp_path):
    """A :class:`CommandRunner` for one test (import this fixture into a test module)."""
    runner = CommandRunner(cloud, monkeypatch, tmp_path)
    yield runner
    runner.close()


@pytest.fixture
def account(cli) -> Key:
    """A fresh account whose admin signs the test's commands (import with ``cli``)."""
    key = cli.new_account()
    cli.act_as(key)
    return key
