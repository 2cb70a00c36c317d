"""Fixtures of the IAM/STS unit tests.

``world``: a fresh identity database (:class:`test_iam_support.World`), closed after the test.
``root``: the root principal of account "alpha" in it; a module that needs more in that account
overrides ``root`` with a fixture that takes this one and adds to it.
"""
from __future__ import annotations

import pytest

from tests.unit.test_iam_support import World, make_world


@pytest.fixture
def world(tmp_path, tmp_path_factory) -> World:
    made = make_world(tmp_path, tmp_path_factory)
    yield made
    made.close()


@pytest.fixture
def root(world):
    return world.account("alpha")
