"""Fixtures shared by the integration tests that talk to the sandbox marketplace."""
from __future__ import annotations

import pytest

from sandbox import generate
from sandbox.server import SandboxServer


@pytest.fixture(scope="module")
def world():
    """The smoke scenario (~300 orders over every shop), generated once per module."""
    return generate("smoke")


@pytest.fixture(scope="module")
def server(world):
    """The sandbox marketplace serving ``world`` on a free port, for the module's tests."""
    with SandboxServer(world) as running:
        yield running


@pytest.fixture(scope="session")
def crash_runner():
    """One fork server for every kill -9 test (tests/helpers/crash_runner.py): each pull is a
    process of its own, forked after the pipeline's imports instead of paying them again."""
    from helpers.crash_runner import ForkServer

    runner = ForkServer()
    yield runner
    runner.close()
