"""The local stack's configuration, the JVM artifact list and docker-compose agree with the project's defaults."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path

import pyspark
import pytest
import yaml

from core.catalog import load_catalog, project_root
from core.errors import ConfigError
from core.settings import DEFAULT_BOOTSTRAP, DEFAULT_REGISTRY_URL, ConnectionSettings
from stack.services import StackSettings, _kafka_properties, new_cluster_id, prepare_kafka

ROOT = project_root()
POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def _pom_property(name: str) -> str:
    root = ET.parse(ROOT / "jvm" / "pom.xml").getroot()  # noqa: S314 - our own pom.xml
    node = root.find(f"m:properties/m:{name}", POM_NS)
    assert node is not None and node.text
    return node.text


def test_pyspark_pin_equals_the_spark_connectors_version() -> None:
    pinned = next(
        d for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"] if "pyspark" in d
    )
    assert pinned == f"pyspark=={_pom_property('spark.version')}"
    assert version("pyspark") == _pom_property("spark.version")


def test_hadoop_aws_matches_the_hadoop_in_pyspark_jars() -> None:
    jars = Path(pyspark.__file__).parent / "jars"
    found = {m.group(1) for j in jars.glob("hadoop-client-api-*.jar") if (m := re.search(r"api-(.+)\.jar", j.name))}
    assert found == {_pom_property("hadoop.version")}


def test_the_iceberg_runtime_is_built_for_pysparks_spark_line() -> None:
    spark_line = ".".join(version("pyspark").split(".")[:2])
    assert _pom_property("iceberg.spark.line") == spark_line
    assert _pom_property("iceberg.version").startswith("1.")


def test_kafka_is_4x_and_scala_matches_pyspark() -> None:
    assert _pom_property("kafka.version").startswith("4.")
    jars = Path(pyspark.__file__).parent / "jars"
    assert list(jars.glob(f"scala-library-{_pom_property('scala.binary.version')}.*.jar"))


def test_three_node_kraft_config_binds_loopback_with_a_three_voter_quorum() -> None:
    settings = StackSettings(brokers=3, home=Path("state"))
    props = dict(line.split("=", 1) for line in _kafka_properties(settings, 1, Path("state/data")).splitlines() if line)
    assert props["node.id"] == "2"
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19092,2@127.0.0.1:19093,3@127.0.0.1:19094"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9093,CONTROLLER://127.0.0.1:19093"
    assert props["default.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert settings.bootstrap_servers == DEFAULT_BOOTSTRAP + ",127.0.0.1:9093,127.0.0.1:9094"


def test_a_new_cluster_id_is_a_uuid_that_never_starts_with_a_dash() -> None:
    ids = [new_cluster_id() for _ in range(3000)]
    assert not any(i.startswith("-") for i in ids)
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_cluster_id_starting_with_a_dash_still_formats_the_storage(tmp_path: Path) -> None:
    """Kafka's storage tool would read ``-t -abc…`` as a missing id: one fresh stack in 64 failed so."""
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "cluster.id").write_text("-AbCdEfGhIjKlMnOpQrStUv")
    prepare_kafka(StackSettings(brokers=1, home=tmp_path))
    meta = (tmp_path / "kafka" / "node-1" / "data" / "meta.properties").read_text()
    assert "cluster.id=-AbCdEfGhIjKlMnOpQrStUv" in meta.splitlines()


def test_one_broker_mode_for_small_machines() -> None:
    settings = StackSettings.from_env({"TELEMETRY_BROKERS": "1"})
    assert settings.bootstrap_servers == DEFAULT_BOOTSTRAP
    assert (settings.replication_factor, settings.min_insync_replicas) == (1, 1)


@pytest.mark.parametrize("value", ["2", "0", "three"])
def test_bad_broker_counts_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="TELEMETRY_BROKERS"):
        StackSettings.from_env({"TELEMETRY_BROKERS": value})


def test_unknown_project_variable_is_refused() -> None:
    with pytest.raises(ConfigError, match="TELEMETRY_BROKER "):
        ConnectionSettings.from_env({"TELEMETRY_BROKER ": "1"})
    with pytest.raises(ConfigError, match="unknown setting"):
        StackSettings.from_env({"TELEMETRY_BROKER": "1"})


def test_registry_url_default_is_the_stacks() -> None:
    assert StackSettings().registry_url == DEFAULT_REGISTRY_URL


def test_docker_compose_agrees_with_the_project_defaults() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    kafka = [services[f"kafka-{n}"] for n in (1, 2, 3)]
    published = [p for k in kafka for p in k["ports"]]
    assert published == ["127.0.0.1:9092:9092", "127.0.0.1:9093:9093", "127.0.0.1:9094:9094"]
    for node in kafka:
        env = node["environment"]
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert len(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == 3
        assert (env["KAFKA_DEFAULT_REPLICATION_FACTOR"], env["KAFKA_MIN_INSYNC_REPLICAS"]) == (3, 2)
        assert "healthcheck" in node
        assert node["image"].split(":")[1]  # pinned
    registry_port = DEFAULT_REGISTRY_URL.split(":")[2].split("/")[0]
    assert services["schema-registry"]["ports"] == [f"127.0.0.1:{registry_port}:8081"]
    assert services["schema-registry"]["environment"]["SCHEMA_REGISTRY_SCHEMA_COMPATIBILITY_LEVEL"] == (
        "backward_transitive"
    )
    create = services["topics"]["command"][0]
    for stream in load_catalog().streams:
        assert f"--topic {stream.topic} --partitions {stream.partitions} --replication-factor 3" in create
    every_port = [p for s in services.values() for p in s.get("ports", [])]
    assert all(p.startswith("127.0.0.1:") for p in every_port)
    assert all(":" in s["image"] for s in services.values())


def test_setup_without_java_says_so_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stack.setup"],
        cwd=ROOT,
        env={"PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "setup: error: Java 17+ is required but `java` is not on PATH; install a JDK 17 (e.g. openjdk-17-jdk)"
    ]


# --- pid files: only the process `make up` started is ever signalled --------------------------------------


def test_a_stale_pid_file_never_signals_the_process_that_now_has_that_pid(tmp_path: Path) -> None:
    from core.procs import _command_line, alive, read_pid, stop

    # Another process holds the recorded pid (as after a reboot): same pid, another start time.
    stranger = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        # The test's premise first: the stranger shows its own command line. Once, on a loaded machine, the last
        # assertion below found another one (a CI rehearsal; not reproduced in 36 runs since).
        deadline = time.monotonic() + 10
        while _command_line(stranger.pid) != ["sleep", "60"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _command_line(stranger.pid) == ["sleep", "60"]
        stale = tmp_path / "kafka-1.pid"
        stale.write_text(f"{stranger.pid} 00000000-0000-0000-0000-000000000000:1")
        legacy = tmp_path / "kafka-2.pid"  # a pid file of an earlier version: the pid alone
        legacy.write_text(str(stranger.pid))
        assert read_pid(stale) is None
        assert read_pid(legacy, ["java", "kafka.Kafka"]) is None
        assert stop([stale, legacy], timeout=1, commands=[[], ["java", "kafka.Kafka"]]) == []
        assert alive(stranger.pid)
        # A legacy file whose process has the service's own command line is vouched for.
        legacy.write_text(str(stranger.pid))
        assert read_pid(legacy, ["sleep", "60"]) == stranger.pid
    finally:
        stranger.kill()
        stranger.wait()


def test_stop_ends_the_processes_it_started_together(tmp_path: Path) -> None:
    from core.procs import alive, read_pid, start, stop

    pid_files = [tmp_path / f"node-{n}.pid" for n in range(3)]
    for pid_file in pid_files:
        start(["sleep", "60"], pid_file=pid_file, log_file=tmp_path / "node.log", env={"PATH": "/usr/bin:/bin"},
              cwd=tmp_path)  # fmt: skip
    pids = [read_pid(p) for p in pid_files]
    assert None not in pids
    began = time.monotonic()
    assert stop(pid_files, timeout=10) == pid_files
    assert time.monotonic() - began < 3
    assert not any(alive(pid) for pid in pids if pid is not None)
    assert not any(p.exists() for p in pid_files)
