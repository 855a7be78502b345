"""The S3 endpoint unreachable during batches: the job waits (or stops with one line), and nothing is lost.

The lake is on S3 (moto). moto keeps its buckets in memory, so killing it would lose the lake
itself: the endpoint is frozen instead (SIGSTOP), which is what an unreachable endpoint looks like
to a client (connections accepted, no answers), and thawed 20 s later (SIGCONT). The job either
waits it out (S3A's timeouts are longer) or stops with one line and is run again; either way the
lake ends with the produced set, once.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from core.registry import RegistryClient
from core.settings import ConnectionSettings
from producer.producer import TelemetryProducer
from tests.faults.support import (
    CATALOG,
    end_check,
    events,
    job_command,
    kill_job,
    service,
    start_job,
    wait_for_lake,
    wait_for_line,
)
from tests.integration.streaming_support import job_settings, prefixed, set_up_streams

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.slow]

FROZEN_S = 20


def test_s3_unreachable_during_batches_loses_nothing(
    stack: ConnectionSettings,
    registry: RegistryClient,
    topic_prefix: str,
    moto_endpoint: str,
    tmp_path: Path,
    figures: dict[str, Any],
) -> None:
    bucket = f"lake-{topic_prefix.strip('_')}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=bucket)
    connection = prefixed(stack, topic_prefix)
    set_up_streams(registry, connection, CATALOG.streams)
    produced = events(vehicles=3, steps=200, seed=51)
    lake = f"s3a://{bucket}/lake"
    command = job_command(connection, tmp_path, "--trigger-interval", "1s", "--lake", lake)
    log = tmp_path / "job.log"
    moto = service("moto").pid()
    assert moto is not None
    frozen = threading.Event()

    def freeze() -> None:
        os.killpg(moto, signal.SIGSTOP)
        frozen.set()
        try:
            time.sleep(FROZEN_S)
        finally:
            os.killpg(moto, signal.SIGCONT)

    job = start_job(command, log)
    chaos = threading.Thread(target=freeze)
    try:
        wait_for_line(log, "committed in", job)
        with TelemetryProducer(connection, CATALOG) as producer:
            for n, event in enumerate(produced):
                producer.produce(event)
                if n == len(produced) // 3:
                    producer.flush(30)
                    chaos.start()  # the job is reading this batch while S3 goes away
        assert frozen.wait(10)
        chaos.join()
        settings = job_settings(connection, tmp_path, lake=lake)
        outcome = "waited"
        if job.poll() is not None:  # it stopped: with one line, and a run again picks up from its checkpoint
            outcome = "stopped, run again"
            lines = log.read_text().strip().splitlines()
            assert job.returncode != 0 and lines[-1].startswith("error: "), lines[-5:]
            job = start_job(command, log)
        landed_s = wait_for_lake(settings, CATALOG.names, len(produced))
        job.send_signal(signal.SIGINT)
        assert job.wait(timeout=120) == 0, log.read_text()[-4000:]
    finally:
        if chaos.is_alive():
            chaos.join()
        kill_job(job)
    assert producer.failed == 0
    took = [float(t) for t in re.findall(r"committed in ([0-9.]+) s", log.read_text())]
    assert max(took) >= FROZEN_S / 2, took  # a batch really hung on the frozen endpoint, and then finished
    found = end_check(connection, registry, settings, produced)
    figures.update(events=found.produced, faults=1, frozen_s=FROZEN_S, outcome=outcome, lost=found.lost,
                   duplicated=found.duplicated, lake_complete_s=round(landed_s, 1))  # fmt: skip
    figures["longest_batch_s"] = max(took)
    assert (found.in_kafka, found.kafka_duplicated) == (found.produced, 0)
    assert (found.lost, found.duplicated) == (0, 0)
