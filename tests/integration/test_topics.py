"""`python -m stack topics` on a cluster: check against streams.toml, create, raise partitions, refuse to lower."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.catalog import project_root
from core.settings import ConnectionSettings

pytestmark = pytest.mark.integration


def _topics(prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TELEMETRY_TOPIC_PREFIX": prefix}
    return subprocess.run([sys.executable, "-m", "stack", "topics", *args], env=env, cwd=project_root(),
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def test_topics_are_checked_created_and_raised_as_streams_toml_says(
    stack: ConnectionSettings, topic_prefix: str
) -> None:
    missing = _topics(topic_prefix)
    assert missing.returncode == 1
    assert f"differs: {topic_prefix}vehicle_data: missing" in missing.stdout

    created = _topics(topic_prefix, "--create")
    assert created.returncode == 0, created.stdout + created.stderr
    assert f"{topic_prefix}vehicle_data" in created.stdout.splitlines()[0]
    assert "every topic as streams.toml says" in created.stdout
    rows = {line.split()[0]: line.split()[1:] for line in created.stdout.splitlines() if line.startswith(topic_prefix)}
    assert rows[f"{topic_prefix}gps_data"] == ["3", "3", "2"]  # partitions, replication factor, min ISR

    raised = _topics(topic_prefix, "--partitions", "vehicle=6")
    assert raised.returncode == 0
    assert f"{topic_prefix}vehicle_data: 3 -> 6 partitions" in raised.stdout
    assert f"{topic_prefix}vehicle_data" in raised.stdout and " 6 " in raised.stdout

    lowered = _topics(topic_prefix, "--partitions", "vehicle=2")
    assert lowered.returncode != 0
    assert lowered.stderr.strip().splitlines()[-1] == (
        f"error: topic {topic_prefix}vehicle_data has 6 partitions; Kafka cannot lower that to 2"
    )
