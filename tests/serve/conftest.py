"""Shared set-up of the reward-service tests: a free local port, and a service deployed on a fresh local Ray."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import ray
from ray import serve

from radgrpo.serve.app import deploy
from radgrpo.serve.config import ServeConfig


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _service(**options: Any) -> Iterator[str]:
    """``deploy(ServeConfig(port=<a free port>, **options))`` on a fresh 2-CPU local Ray; yields the service's URL and
    shuts Serve and Ray down afterwards."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield deploy(ServeConfig(port=_free_port(), **options))
    finally:
        serve.shutdown()
        ray.shutdown()


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """A function returning a local port nothing listens on."""
    return _free_port


@pytest.fixture(scope="session")
def reward_service() -> Callable[..., contextlib.AbstractContextManager[str]]:
    """A context manager factory: ``with reward_service(rewards=[...], ...) as url:`` (ServeConfig keys)."""
    return _service
