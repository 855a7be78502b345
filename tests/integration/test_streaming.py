"""The streaming job on the real stack and a real Spark: exactly once, schema evolution, quarantine, crash, S3."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient
from pyiceberg.exceptions import NoSuchTableError

from core.catalog import Stream, load_catalog
from core.errors import RegistryError, TelemetryError
from core.iceberg_tables import open_catalog
from core.registry import RegistryClient
from core.settings import ConnectionSettings
from core.wire import frame
from producer.producer import TelemetryProducer
from producer.simulator import SimulationConfig, simulate
from streaming.commit import BATCH_ID
from streaming.job import run
from streaming.monitor import monitoring_group
from tests.integration.streaming_support import (
    assert_lake_holds_exactly,
    avro_body,
    expected_row,
    job_settings,
    lake_rows,
    prefixed,
    produce_raw,
    register,
    set_up_streams,
    shared_spark,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CATALOG = load_catalog()


@pytest.fixture(scope="module")
def spark(stack: ConnectionSettings) -> Any:
    """The shared local SparkSession."""
    return shared_spark()


def test_every_produced_record_lands_exactly_once_with_every_field_equal(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, spark: Any, tmp_path: Path
) -> None:
    connection = prefixed(stack, topic_prefix)
    ids = set_up_streams(registry, connection, CATALOG.streams)
    events = list(simulate(SimulationConfig(vehicles=2, max_steps=40, emergency_probability=0.05), CATALOG))
    assert {e.stream for e in events} == set(CATALOG.names)
    with TelemetryProducer(connection, CATALOG) as producer:
        for event in events:
            producer.produce(event)
    assert producer.failed == 0

    settings = job_settings(connection, tmp_path, available_now=True)
    run(settings, spark=spark, catalog=CATALOG)

    tables = assert_lake_holds_exactly(settings, CATALOG, events, lambda stream: connection.topic(stream.topic))
    for stream in CATALOG.streams:
        rows = tables[stream.name]
        assert {r["schema_id"] for r in rows} == {ids[stream.name]}
        assert lake_rows(settings, f"{stream.name}_quarantine") == []

    assert _monitoring_lag(connection) == dict.fromkeys(CATALOG.names, 0)
    # Hadoop runs a process for each file it creates on local disk: no .crc file doubles that.
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.crc")) == []

    # Run again from the same checkpoint: nothing new, nothing doubled.
    again = run(settings, spark=spark, catalog=CATALOG)
    assert sum(again.rows.values()) == 0
    assert sum(len(lake_rows(settings, s.name)) for s in CATALOG.streams) == len(events)


def test_a_batch_after_a_small_one_is_written_by_one_task_and_the_first_by_one_per_partition(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, spark: Any, tmp_path: Path
) -> None:
    """The commits show it: one file per batch and day once batches are small, one per partition before."""
    connection = prefixed(stack, topic_prefix)
    stream = CATALOG.get("vehicle")
    set_up_streams(registry, connection, CATALOG.streams)
    events = [e for e in simulate(SimulationConfig(vehicles=12, max_steps=10), CATALOG) if e.stream == "vehicle"]
    with TelemetryProducer(connection, CATALOG) as producer:
        for event in events:
            producer.produce(event)
    settings = job_settings(
        connection, tmp_path, available_now=True, entities="vehicle", max_offsets_per_trigger=len(events) // 3
    )
    summary = run(settings, spark=spark, catalog=CATALOG)
    assert summary.batches >= 3
    iceberg = settings.iceberg()
    table = open_catalog(iceberg).load_table(iceberg.table_id("vehicle"))
    # Per batch: (files added, days it touched), from each commit's summary.
    commits = {
        int(s.summary[BATCH_ID]): (int(s.summary["added-data-files"]), int(s.summary["changed-partition-count"]))
        for s in table.snapshots()
        if s.summary is not None and s.summary.get(BATCH_ID) is not None
    }
    assert commits[0][0] >= stream.partitions  # every partition had rows: a task, so a file, each
    assert all(files == days for batch, (files, days) in commits.items() if batch > 0)
    assert sorted(r["id"] for r in lake_rows(settings, "vehicle")) == sorted(e.value["id"] for e in events)


def _monitoring_lag(connection: ConnectionSettings) -> dict[str, int]:
    """Per entity, the topic's end offsets minus what the job committed to its monitoring group (Kafka's lag)."""
    admin = AdminClient(connection.kafka_config())
    group = ConsumerGroupTopicPartitions(monitoring_group(connection))
    committed = admin.list_consumer_group_offsets([group])[group.group_id].result().topic_partitions
    consumer = Consumer({**connection.kafka_config(), "group.id": "lag-check"})
    lag = {}
    try:
        for stream in CATALOG.streams:
            topic = connection.topic(stream.topic)
            mine = {p.partition: p.offset for p in committed if p.topic == topic}
            ends = {
                p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(stream.partitions)
            }
            lag[stream.name] = sum(end - mine.get(p, 0) for p, end in ends.items())
    finally:
        consumer.close()
    return lag


def _vehicle_stream(
    registry: RegistryClient, connection: ConnectionSettings
) -> tuple[Stream, int, str, list[dict[str, Any]]]:
    """The vehicle stream set up under the test's prefix: stream, version 1's id, topic, 40-odd records."""
    stream = CATALOG.get("vehicle")
    v1_id = set_up_streams(registry, connection, [stream])["vehicle"]
    records = [e.value for e in simulate(SimulationConfig(vehicles=2, max_steps=15), CATALOG) if e.stream == "vehicle"]
    return stream, v1_id, connection.topic(stream.topic), records


def _with_colour(schema: dict[str, Any]) -> dict[str, Any]:
    """Version 2 of a schema: an optional ``colour`` field with a default (a compatible change)."""
    colour = {"name": "colour", "type": ["string", "null"], "default": "unknown", "doc": "Paint colour."}
    return {**schema, "fields": [*schema["fields"], colour]}


def test_versions_1_and_2_of_a_subject_in_one_topic_decode_into_the_latest_shape(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, spark: Any, tmp_path: Path
) -> None:
    connection = prefixed(stack, topic_prefix)
    stream, v1_id, topic, records = _vehicle_stream(registry, connection)
    first, old_writer, new_writer = records[:10], records[10:20], records[20:30]
    produce_raw(
        connection, topic, [(r["vehicle_id"].encode(), frame(v1_id, avro_body(stream.schema, r))) for r in first]
    )
    settings = job_settings(connection, tmp_path, available_now=True, entities="vehicle")
    run(settings, spark=spark, catalog=CATALOG)
    assert "colour" not in lake_rows(settings, "vehicle")[0]

    # Version 2 adds an optional field with a default; the next batch reads with it, no restart of anything.
    v2 = _with_colour(stream.schema)
    v2_id = register(registry, connection.subject(stream.subject), v2)
    assert v2_id != v1_id
    painted = [{**r, "colour": c} for r, c in zip(new_writer, ["red", None] * 5, strict=True)]
    messages = [(r["vehicle_id"].encode(), frame(v1_id, avro_body(stream.schema, r))) for r in old_writer]
    messages += [(r["vehicle_id"].encode(), frame(v2_id, avro_body(v2, r))) for r in painted]
    produce_raw(connection, topic, messages)
    run(settings, spark=spark, catalog=CATALOG)

    rows = {r["id"]: r for r in lake_rows(settings, "vehicle")}
    assert len(rows) == 30
    for record in old_writer:  # written with version 1: the default of version 2
        assert rows[record["id"]] == {**rows[record["id"]], **record, "colour": "unknown", "schema_id": v1_id}
    for record in painted:
        assert rows[record["id"]] == {**rows[record["id"]], **record, "schema_id": v2_id}
    assert lake_rows(settings, "vehicle_quarantine") == []


def _wait_for_rows(settings: Any, table: str, count: int, job: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while len(lake_rows(settings, table)) < count and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(lake_rows(settings, table)) == count, log.read_text()[-3000:]


def test_a_version_registered_while_the_job_runs_is_picked_up_without_a_restart_and_ctrl_c_stops_it_cleanly(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, tmp_path: Path
) -> None:
    connection = prefixed(stack, topic_prefix)
    stream, v1_id, topic, records = _vehicle_stream(registry, connection)
    settings = job_settings(connection, tmp_path)
    command = [
        sys.executable, "-m", "streaming", "run", "--trigger-interval", "1s", "--entities", "vehicle",
        "--lake", settings.lake, "--checkpoints", settings.checkpoints, "--topic-prefix", topic_prefix,
        "--bootstrap-servers", connection.bootstrap_servers, "--registry-url", connection.registry_url,
    ]  # fmt: skip
    log = tmp_path / "job.log"
    with log.open("wb") as out:
        job = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            produce_raw(connection, topic, [(None, frame(v1_id, avro_body(stream.schema, r))) for r in records[:10]])
            _wait_for_rows(settings, "vehicle", 10, job, log)
            # Version 2 is registered while the job runs; its next batches decode with it.
            v2 = _with_colour(stream.schema)
            v2_id = register(registry, connection.subject(stream.subject), v2)
            painted = [{**r, "colour": "red"} for r in records[10:20]]
            produce_raw(connection, topic, [(None, frame(v2_id, avro_body(v2, r))) for r in painted])
            _wait_for_rows(settings, "vehicle", 20, job, log)
            job.send_signal(signal.SIGINT)  # what Ctrl-C sends
            assert job.wait(timeout=120) == 0, log.read_text()[-3000:]
        finally:
            if job.poll() is None:
                os.killpg(job.pid, signal.SIGKILL)
                job.wait()
    output = log.read_text()
    assert "stopping the queries (SIGINT)" in output
    assert "stopped: " in output and "Traceback" not in output
    rows = {r["id"]: r for r in lake_rows(settings, "vehicle")}
    assert {rows[r["id"]]["colour"] for r in painted} == {"red"}
    assert {rows[r["id"]]["schema_id"] for r in painted} == {v2_id}


def test_each_bad_record_lands_in_the_quarantine_with_its_reason_and_the_good_ones_around_it_in_the_lake(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, spark: Any, tmp_path: Path
) -> None:
    connection = prefixed(stack, topic_prefix)
    gps, vehicle = CATALOG.get("gps"), CATALOG.get("vehicle")
    ids = set_up_streams(registry, connection, [gps, vehicle])
    unknown_id = 2_000_000_000
    with pytest.raises(RegistryError):
        registry.schema_by_id(unknown_id)
    events = list(simulate(SimulationConfig(vehicles=1, max_steps=10), CATALOG))
    good = [e.value for e in events if e.stream == "gps"][:7]
    other = next(e.value for e in events if e.stream == "vehicle")

    def framed(record: dict[str, Any]) -> bytes:
        return frame(ids["gps"], avro_body(gps.schema, record))

    bad = {
        "bad-magic-byte": b"\x01" + framed(good[0])[1:],
        "short-value": b"\x00\x00\x01",
        "unknown-schema-id": frame(unknown_id, avro_body(gps.schema, good[0])),
        "foreign-schema-id": frame(ids["vehicle"], avro_body(vehicle.schema, other)),
        "undecodable-body": framed(good[0])[:10],
        "null-value": None,
    }
    messages: list[tuple[bytes | None, bytes | None]] = [(b"v", framed(good[0]))]
    for record, value in zip(good[1:], bad.values(), strict=True):
        messages += [(b"v", value), (b"v", framed(record))]  # one key: one partition, in this order
    produce_raw(connection, connection.topic(gps.topic), messages)

    settings = job_settings(connection, tmp_path, available_now=True, entities="gps,vehicle")
    run(settings, spark=spark, catalog=CATALOG)

    rows = lake_rows(settings, "gps")
    assert sorted(r["id"] for r in rows) == sorted(r["id"] for r in good)
    quarantined = {r["reason"].split(":")[0]: r for r in lake_rows(settings, "gps_quarantine")}
    assert set(quarantined) == set(bad)
    for code, value in bad.items():
        row = quarantined[code]
        assert row["raw_value"] == value
        assert row["kafka_topic"] == connection.topic(gps.topic) and row["kafka_key"] == b"v"
        assert len(row["reason"]) > len(code) + 10  # a readable explanation follows the code
    assert quarantined["foreign-schema-id"]["schema_id"] == ids["vehicle"]
    assert quarantined["unknown-schema-id"]["schema_id"] == unknown_id
    assert quarantined["bad-magic-byte"]["schema_id"] is None
    # Good and bad records interleave in one partition: every offset is accounted for exactly once.
    offsets = sorted([r["kafka_offset"] for r in rows] + [r["kafka_offset"] for r in quarantined.values()])
    assert offsets == list(range(len(messages)))
    assert lake_rows(settings, "vehicle") == []


def _committed_batches(settings: Any) -> set[str]:
    """The batch ids recorded in the entity tables' snapshots (see streaming.commit)."""
    iceberg = settings.iceberg()
    catalog = open_catalog(iceberg)
    found = set()
    for stream in CATALOG.streams:
        try:
            table = catalog.load_table(iceberg.table_id(stream.name))
        except NoSuchTableError:
            continue
        found |= {f"{stream.name}-{s.summary.get(BATCH_ID)}" for s in table.snapshots() if s.summary is not None}
    return found


def test_kill_9_of_the_job_mid_stream_and_a_restart_give_exactly_the_produced_set(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, spark: Any, tmp_path: Path
) -> None:
    connection = prefixed(stack, topic_prefix)
    set_up_streams(registry, connection, CATALOG.streams)
    events = list(simulate(SimulationConfig(vehicles=4, max_steps=150), CATALOG))
    half = len(events) // 2
    settings = job_settings(connection, tmp_path)
    lake = tmp_path / "lake"
    command = [
        sys.executable, "-m", "streaming", "run", "--trigger-interval", "1s", "--max-offsets-per-trigger", "150",
        "--lake", str(lake), "--checkpoints", str(tmp_path / "checkpoints"), "--topic-prefix", topic_prefix,
        "--bootstrap-servers", connection.bootstrap_servers, "--registry-url", connection.registry_url,
    ]  # fmt: skip
    with TelemetryProducer(connection, CATALOG) as producer:
        for event in events[:half]:
            producer.produce(event)
    log = (tmp_path / "job.log").open("w")
    job = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while len(_committed_batches(settings)) < 3 and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        with TelemetryProducer(connection, CATALOG) as producer:  # more arrives while the job runs
            for event in events[half:]:
                producer.produce(event)
        assert job.poll() is None, (tmp_path / "job.log").read_text()[-3000:]
        assert len(_committed_batches(settings)) >= 3, "the job committed no batches in time"
    finally:
        os.killpg(job.pid, signal.SIGKILL)  # the driver and its JVM, no goodbye
        job.wait()
        log.close()
    landed_before = sum(len(lake_rows(settings, s.name)) for s in CATALOG.streams)
    assert 0 < landed_before < len(events)

    restarted = job_settings(connection, tmp_path, available_now=True)
    run(restarted, spark=spark, catalog=CATALOG)

    for stream in CATALOG.streams:
        produced = sorted(e.value["id"] for e in events if e.stream == stream.name)
        assert sorted(r["id"] for r in lake_rows(restarted, stream.name)) == produced, stream.name


def test_the_lake_on_s3_against_moto(
    stack: ConnectionSettings,
    registry: RegistryClient,
    topic_prefix: str,
    spark: Any,
    moto_endpoint: str,
    tmp_path: Path,
) -> None:
    bucket = f"lake-{topic_prefix.strip('_')}"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket=bucket)
    connection = prefixed(stack, topic_prefix)
    weather = CATALOG.get("weather")
    weather_id = set_up_streams(registry, connection, [weather])["weather"]
    records = [e.value for e in simulate(SimulationConfig(vehicles=2, max_steps=20), CATALOG) if e.stream == "weather"]
    produce_raw(
        connection,
        connection.topic(weather.topic),
        [(r["vehicle_id"].encode(), frame(weather_id, avro_body(weather.schema, r))) for r in records],
    )
    settings = job_settings(connection, tmp_path, lake=f"s3a://{bucket}/lake", available_now=True, entities="weather")
    assert settings.s3_endpoint == moto_endpoint
    run(settings, spark=spark, catalog=CATALOG)

    rows = {r["id"]: r for r in lake_rows(settings, "weather")}
    assert {i: {k: rows[i][k] for k in weather.field_names} for i in rows} == {
        r["id"]: expected_row(r, CATALOG, "weather") for r in records
    }
    listing = s3.list_objects_v2(Bucket=bucket, Prefix="lake/smartcity/weather/")["Contents"]
    files = [o["Key"] for o in listing if not o["Key"].endswith("/")]  # S3A keeps empty folder markers
    data = [k for k in files if k.startswith("lake/smartcity/weather/data/event_time_day=")]
    assert data and all(k.endswith(".parquet") for k in data)
    assert any(k.startswith("lake/smartcity/weather/metadata/") and k.endswith(".metadata.json") for k in files)


def _cli(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "streaming", "run", "--available-now", "--lake", str(tmp_path / "lake")]
    command += ["--checkpoints", str(tmp_path / "checkpoints"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def test_without_registered_schemas_the_job_stops_at_once_with_one_line_saying_what_to_run(
    stack: ConnectionSettings, topic_prefix: str, tmp_path: Path
) -> None:
    result = _cli("--topic-prefix", topic_prefix, "--registry-url", stack.registry_url, tmp_path=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: subject {topic_prefix}vehicle_data-value has no registered version; run `make schema-register`"
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "lake").exists()


def test_an_unreachable_registry_is_one_clear_line(tmp_path: Path) -> None:
    result = _cli("--registry-url", "http://127.0.0.1:9/apis/ccompat/v7", tmp_path=tmp_path)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: schema registry at http://127.0.0.1:9/apis/ccompat/v7 is unreachable")
    assert "Traceback" not in result.stderr


def test_a_checkpoint_of_the_earlier_one_query_layout_is_refused_before_anything_is_read(
    stack: ConnectionSettings, registry: RegistryClient, topic_prefix: str, spark: Any, tmp_path: Path
) -> None:
    connection = prefixed(stack, topic_prefix)
    set_up_streams(registry, connection, CATALOG.streams)
    settings = job_settings(connection, tmp_path, available_now=True)
    old = tmp_path / "checkpoints" / f"{topic_prefix}lake" / "offsets"
    old.mkdir(parents=True)
    (old / "0").write_text("v1\n{}\n", encoding="utf-8")
    with pytest.raises(TelemetryError, match="checkpoint of an earlier version of the job"):
        run(settings, spark=spark, catalog=CATALOG)
    assert not (tmp_path / "lake").exists()
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [f"{topic_prefix}lake"]
