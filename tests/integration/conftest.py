"""Fixtures for integration tests: the real local stack, started when needed and stopped if we started it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from core.registry import RegistryClient
from core.settings import ConnectionSettings
from stack.cli import down, is_up, up
from stack.services import MOTO_PORT, StackSettings


@pytest.fixture(scope="session")
def stack() -> Iterator[ConnectionSettings]:
    """The local stack (Kafka, registry, moto) for this test session.

    Reuses a running stack; otherwise starts it and stops it again at the end of the session.
    """
    settings = StackSettings.from_env()
    started = False
    if not is_up(settings):
        up(settings)
        started = True
    try:
        yield ConnectionSettings(bootstrap_servers=settings.bootstrap_servers, registry_url=settings.registry_url)
    finally:
        if started:
            down(settings)


@pytest.fixture(scope="session")
def registry(stack: ConnectionSettings) -> RegistryClient:
    """A client of the stack's Schema Registry."""
    return RegistryClient(stack.registry_url)


@pytest.fixture
def topic_prefix() -> str:
    """A unique topic/subject prefix, so that tests never see each other's data."""
    return f"t{uuid.uuid4().hex[:10]}_"


@pytest.fixture(scope="session")
def moto_endpoint(stack: ConnectionSettings) -> Iterator[str]:
    """The stack's moto server as the AWS endpoint (AWS_ENDPOINT_URL set for the session)."""
    endpoint = f"http://127.0.0.1:{MOTO_PORT}"
    previous = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        yield endpoint
    finally:
        if previous is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = previous
