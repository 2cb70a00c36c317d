"""Shared fixtures: a running cloud per database backend, and a private PostgreSQL cluster.

``cloud`` is session-scoped (one per xdist worker and backend) and parametrised over
"sqlite" and "postgresql"; ``cloud_factory`` starts private clouds a test may stop or break.
Without PostgreSQL installed the postgresql cases are skipped, except under CI=true, where
they fail (``make test`` installs it).
"""
from __future__ import annotations

import os

import pytest

from tests.cloud_fixture import Cloud, PostgresCluster

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres():
    bindir = PostgresCluster.find_bindir()
    if bindir is None:
        message = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    cluster = PostgresCluster(bindir).start()
    yield cluster
    cluster.stop()


# Test clouds skip the starter image unless a test asks for it: building and bundling it
# costs seconds per cloud, and only the real-guest tests boot it.
NO_STARTER = {"EUCA_STARTER_IMAGE": "no"}


def _backend_env(request, backend: str) -> dict[str, str]:
    if backend == "postgresql":
        return {"EUCA_DATABASE_URL": request.getfixturevalue("postgres").create_database()}
    return {}


@pytest.fixture(scope="session")
def _shared_clouds():
    """The worker's running clouds by backend, started on first use and kept for the whole
    session, so tests alternating between backends never restart them."""
    running: dict[str, Cloud] = {}
    yield running
    for c in running.values():
        c.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def cloud(request, tmp_path_factory, _shared_clouds):
    """A cloud-in-a-box shared by the tests of this worker, on the parametrised database."""
    backend = request.param
    if backend not in _shared_clouds:
        env = {**NO_STARTER, **_backend_env(request, backend)}
        running = Cloud.start(tmp_path_factory.mktemp(f"cloud-{backend}") / "data", env)
        running.backend = backend
        _shared_clouds[backend] = running
    return _shared_clouds[backend]


@pytest.fixture
def cloud_factory(request, tmp_path):
    """``start(backend="sqlite", **kw) -> Cloud``: private clouds, stopped after the test."""
    started: list[Cloud] = []

    def start(backend: str = "sqlite", name: str = "data", **kw) -> Cloud:
        env = {**NO_STARTER, **_backend_env(request, backend), **kw.pop("extra_env", {})}
        c = Cloud.start(tmp_path / name, env, **kw)
        started.append(c)
        return c

    yield start
    for c in started:
        c.stop()
