"""Fixtures for integration tests: the real local stack, started when needed and stopped if we started it."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from core.errors import RegistryError
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
def topic_prefix(stack: ConnectionSettings, registry: RegistryClient) -> Iterator[str]:
    """A unique topic/subject prefix, so that tests never see each other's data.

    The topics and subjects made under it are deleted afterwards, so a long-lived local stack does
    not accumulate partitions that its brokers keep replicating.
    """
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    yield prefix
    admin = AdminClient(stack.kafka_config())
    leftovers = [t for t in admin.list_topics(timeout=10).topics if t.startswith(prefix)]
    if leftovers:
        for future in admin.delete_topics(leftovers, operation_timeout=30).values():
            with contextlib.suppress(KafkaException):
                future.result()
    for subject in registry.subjects():
        if subject.startswith(prefix):
            with contextlib.suppress(RegistryError):
                registry.delete_subject(subject, permanent=True)


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
