"""`make up`/`status` on the real local stack: idempotent, honest about ports it does not own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from core.catalog import load_catalog, project_root
from core.settings import ConnectionSettings

pytestmark = pytest.mark.integration


def _stack(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stack", *args],
        cwd=project_root(),
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_up_when_up_changes_nothing(stack: ConnectionSettings) -> None:
    result = _stack("up")
    assert result.returncode == 0
    assert "stack is already up; nothing changed" in result.stdout
    assert "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094" in result.stdout


def test_status_lists_every_service_up(stack: ConnectionSettings) -> None:
    result = _stack("status")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["kafka-1", "up"], ["kafka-2", "up"], ["kafka-3", "up"], ["registry", "up"], ["moto", "up"],
    ]  # fmt: skip


def test_a_port_held_by_another_process_is_a_clear_error(stack: ConnectionSettings, tmp_path: Path) -> None:
    # A second stack with its own state folder finds the first one's ports taken.
    result = _stack("up", env={"TELEMETRY_HOME": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: port 9092 (kafka-1) is in use by a process this stack did not start; "
        "stop it, or point the platform at that service instead (see README)"
    )


def test_topics_have_three_replicas_and_declared_partitions(stack: ConnectionSettings) -> None:
    metadata = AdminClient(stack.kafka_config()).list_topics(timeout=10)
    assert len(metadata.brokers) == 3
    for stream in load_catalog().streams:
        partitions = metadata.topics[stream.topic].partitions
        assert len(partitions) == stream.partitions
        assert all(len(p.replicas) == 3 for p in partitions.values())
