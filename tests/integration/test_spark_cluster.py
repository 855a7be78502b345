"""The job on a real Spark standalone cluster: spark-submit with the packaged archive, as the README says.

A master and two workers from pyspark's own jars (executors in their own JVMs), the job submitted with
``spark-submit --master spark://... --jars ... --py-files build/telemetry.zip streaming/submit.py run``,
and the lake compared with the produced set: every record once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.catalog import load_catalog, project_root
from core.registry import RegistryClient
from core.settings import ConnectionSettings
from producer.producer import TelemetryProducer
from producer.simulator import SimulationConfig, simulate
from streaming.session import connector_jars
from tests.integration.streaming_support import job_settings, lake_rows, prefixed, set_up_streams
from tests.spark_cluster import SPARK_HOME, spark_cluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CATALOG = load_catalog()


def test_the_job_submitted_to_a_standalone_cluster_lands_exactly_the_produced_set(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, tmp_path: Path
) -> None:
    connection = prefixed(stack, topic_prefix)
    set_up_streams(registry, connection, CATALOG.streams)
    events = list(simulate(SimulationConfig(vehicles=2, max_steps=60, emergency_probability=0.05), CATALOG))
    with TelemetryProducer(connection, CATALOG) as producer:
        for event in events:
            producer.produce(event)
    assert producer.failed == 0

    root = project_root()
    archive = subprocess.run([sys.executable, "-m", "streaming", "package"], cwd=root, capture_output=True,
                             text=True, check=False)  # fmt: skip
    assert archive.returncode == 0, archive.stderr
    settings = job_settings(connection, tmp_path)
    env = {**os.environ, "TELEMETRY_SCHEMAS_DIR": str(root / "schemas"), "TELEMETRY_TOPIC_PREFIX": topic_prefix,
           "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}  # fmt: skip
    with spark_cluster(tmp_path / "cluster", workers=2) as cluster:
        submit = [
            str(SPARK_HOME / "bin" / "spark-submit"), "--master", cluster.master_url, "--driver-memory", "1g",
            "--conf", "spark.executor.memory=768m", "--conf", "spark.driver.host=127.0.0.1",
            "--jars", ",".join(str(j) for j in connector_jars()), "--py-files", str(root / "build" / "telemetry.zip"),
            str(root / "streaming" / "submit.py"), "run", "--available-now",
            "--lake", str(tmp_path / "lake"), "--checkpoints", str(tmp_path / "checkpoints"),
        ]  # fmt: skip
        result = subprocess.run(submit, cwd=root, env=env, capture_output=True, text=True, timeout=900, check=False)
        assert result.returncode == 0, result.stderr[-3000:]
        apps = cluster.state()["completedapps"] + cluster.state()["activeapps"]
        executors = cluster.executor_dirs()
    assert any(app["name"] == "telemetry-streaming" for app in apps), apps
    assert {p.parent.parent.name for p in executors} == {"worker-0", "worker-1"}, executors  # JVMs on both workers

    for stream in CATALOG.streams:
        produced = sorted(e.value["id"] for e in events if e.stream == stream.name)
        landed = sorted(r["id"] for r in lake_rows(settings, stream.name))
        assert landed == produced, stream.name
