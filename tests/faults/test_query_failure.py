"""One of the job's queries fails: the others stop cleanly, and the job says why in one line.

The failure is one a user can cause: another tool registers a latest vehicle schema that changes a
lake column's type (int -> long), which the job refuses. The job must exit with that one line, its
other queries must stop without a stack trace, nothing of the refused batch may land, and a restart
after the fix must give the exact produced set.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from core.registry import RegistryClient
from core.settings import ConnectionSettings
from tests.faults.support import CATALOG, end_check, events, job_command, lake_ids, produce
from tests.integration.streaming_support import job_settings, prefixed, set_up_streams

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.slow]


def test_when_one_query_fails_the_others_stop_cleanly_and_the_job_says_why_in_one_line(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, tmp_path: Path, figures: dict[str, Any]
) -> None:
    connection = prefixed(stack, topic_prefix)
    set_up_streams(registry, connection, CATALOG.streams)
    batch = events(vehicles=2, steps=60, seed=71)
    assert produce(connection, batch).failed == 0
    vehicle = CATALOG.get("vehicle")
    subject = connection.subject(vehicle.subject)
    widened = json.loads(vehicle.schema_str)
    next(f for f in widened["fields"] if f["name"] == "year")["type"] = "double"  # legal in Avro, not in Iceberg
    registry.set_compatibility(subject, "NONE")  # "another tool" that does not check the lake
    registry.register(subject, json.dumps(widened))

    began = time.monotonic()
    result = subprocess.run(job_command(connection, tmp_path, "--available-now"), capture_output=True, text=True,
                            timeout=600, check=False)  # fmt: skip
    stopped_s = time.monotonic() - began
    output = result.stdout + result.stderr
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "cannot be written to the lake: year: int -> double" in last, output[-3000:]
    assert "Traceback" not in output and "StackOverflowError" not in output, output[-5000:]
    assert "Exception in thread" not in output, output[-5000:]
    settings = job_settings(connection, tmp_path, available_now=True)
    assert lake_ids(settings, ["vehicle"]).total() == 0  # the refused table got nothing

    # The fix: the lake-safe schema becomes the latest again; the job resumes from its checkpoints.
    registry.register(subject, vehicle.schema_str)  # registering an earlier text again makes it the latest
    latest = registry.latest(subject)
    if latest.schema != vehicle.schema_str and json.loads(latest.schema) != json.loads(vehicle.schema_str):
        registry.delete_subject(subject)
        registry.register(subject, vehicle.schema_str)
    rerun = subprocess.run(job_command(connection, tmp_path, "--available-now"), capture_output=True, text=True,
                           timeout=600, check=False)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    found = end_check(connection, registry, settings, batch)
    figures.update(events=found.produced, faults=1, lost=found.lost, duplicated=found.duplicated,
                   stopped_s=round(stopped_s, 1))  # fmt: skip
    assert (found.in_kafka, found.kafka_duplicated) == (found.produced, 0)
    assert (found.lost, found.duplicated) == (0, 0)
