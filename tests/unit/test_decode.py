"""The streaming job's pure parts: settings, Kafka options, progress, and decoding on a local Spark."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import fastavro
import pytest

from core.catalog import load_catalog
from core.errors import ConfigError, SchemaError
from core.lake import METADATA_FIELDS, QUARANTINE_FIELDS
from core.settings import Secret
from core.wire import frame
from streaming.decode import EntityPlan
from streaming.listener import progress_lines, topic_offsets
from streaming.reasons import reason_foreign_id, reason_unknown_id, required_fields
from streaming.session import s3a_conf, spark_conf
from streaming.settings import StreamingSettings, lake_uri, parse_interval
from streaming.source import kafka_source_options

# --- settings ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spark"),
    [
        ("10s", "10 seconds"),
        ("500ms", "500 milliseconds"),
        ("2m", "2 minutes"),
        ("1 hour", "1 hours"),
        ("10 seconds", "10 seconds"),
    ],
)
def test_trigger_interval_accepts_common_spellings(text: str, spark: str) -> None:
    assert parse_interval(text) == spark


@pytest.mark.parametrize("text", ["", "ten seconds", "0s", "-1s", "10 parsecs"])
def test_trigger_interval_refuses_nonsense(text: str) -> None:
    with pytest.raises(ConfigError, match="trigger interval"):
        parse_interval(text)


def test_lake_location_local_becomes_absolute_file_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert lake_uri("lake") == (tmp_path / "lake").resolve().as_uri()
    assert lake_uri("s3a://bucket/prefix/") == "s3a://bucket/prefix"


def test_lake_location_every_s3_spelling_becomes_s3a_and_an_empty_one_is_refused() -> None:
    assert lake_uri("s3://bucket/lake") == lake_uri("s3n://bucket/lake/") == "s3a://bucket/lake"
    with pytest.raises(ConfigError, match="empty"):
        lake_uri("  ")


def test_settings_from_env_and_flags(tmp_path: Path) -> None:
    env = {"TELEMETRY_LAKE": str(tmp_path / "lake"), "TELEMETRY_HOME": str(tmp_path), "AWS_REGION": "eu-west-1"}
    settings = StreamingSettings.from_env(env, entities="vehicle, gps", topic_prefix="p_", trigger_interval="5s")
    assert settings.lake == (tmp_path / "lake").as_uri()
    assert settings.checkpoints == (tmp_path / "checkpoints").as_uri()
    assert settings.checkpoint_location("vehicle") == f"{(tmp_path / 'checkpoints').as_uri()}/p_vehicle"
    assert settings.trigger_interval == "5 seconds"
    assert [s.name for s in settings.streams(load_catalog())] == ["vehicle", "gps"]
    assert settings.aws_region == "eu-west-1"


def test_settings_refuse_bad_values(tmp_path: Path) -> None:
    env = {"TELEMETRY_HOME": str(tmp_path)}
    with pytest.raises(ConfigError, match="starting offsets"):
        StreamingSettings.from_env(env, starting_offsets="yesterday")
    with pytest.raises(ConfigError, match="at least 1"):
        StreamingSettings.from_env(env, max_offsets_per_trigger=0)
    with pytest.raises(ConfigError, match="unknown setting"):
        StreamingSettings.from_env({**env, "TELEMETRY_LAKES": "x"})
    with pytest.raises(SchemaError, match="no stream named 'cars'"):
        StreamingSettings.from_env(env, entities="cars").streams(load_catalog())


def test_s3a_uses_the_default_credential_chain_and_the_endpoint(tmp_path: Path) -> None:
    env = {"TELEMETRY_HOME": str(tmp_path), "AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_REGION": "us-east-1"}
    conf = s3a_conf(StreamingSettings.from_env(env, lake="s3a://bucket/lake"))
    assert conf["spark.hadoop.fs.s3a.aws.credentials.provider"].endswith("DefaultCredentialsProvider")
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:5000"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert not any("secret" in key.lower() or "access.key" in key for key in conf)
    # AWS_ENDPOINT_URL_S3 wins over the general endpoint, as in the AWS SDKs.
    env["AWS_ENDPOINT_URL_S3"] = "https://s3.example.test"
    assert StreamingSettings.from_env(env).s3_endpoint == "https://s3.example.test"


def test_spark_conf_sets_utc_and_micros_and_leaves_launch_to_spark_submit(tmp_path: Path) -> None:
    settings = StreamingSettings.from_env({"TELEMETRY_HOME": str(tmp_path)})
    local = spark_conf(settings, submitted=False, jars=[Path("/j/a.jar"), Path("/my jars/100%/b.jar")])
    assert local["spark.sql.session.timeZone"] == "UTC"
    assert local["spark.sql.parquet.outputTimestampType"] == "TIMESTAMP_MICROS"
    assert local["spark.jars"] == "file:///j/a.jar,file:///my%20jars/100%25/b.jar"
    assert local["spark.master"] == "local[2]"
    submitted = spark_conf(settings, submitted=True)
    assert "spark.master" not in submitted and "spark.jars" not in submitted
    assert submitted["spark.sql.session.timeZone"] == "UTC"


def test_kafka_source_options(tmp_path: Path) -> None:
    settings = StreamingSettings.from_env({"TELEMETRY_HOME": str(tmp_path)}, max_offsets_per_trigger=500)
    options = kafka_source_options(settings, ["a", "b"])
    assert options["subscribe"] == "a,b"
    assert options["failOnDataLoss"] == "true"
    assert options["startingOffsets"] == "earliest"
    assert options["maxOffsetsPerTrigger"] == "500"
    assert options["kafka.fetch.max.wait.ms"] == "10"  # a task never waits for data it knows is there


def test_kafka_source_options_with_sasl(tmp_path: Path) -> None:
    settings = StreamingSettings.from_env({"TELEMETRY_HOME": str(tmp_path)})
    connection = settings.connection.__class__(
        security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="u", sasl_password=Secret('p"w')
    )
    options = kafka_source_options(settings.__class__(connection, settings.lake, settings.checkpoints), ["a"])
    assert options["kafka.security.protocol"] == "SASL_SSL"
    assert options["kafka.sasl.jaas.config"] == (
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p\\"w";'
    )


# --- progress ---------------------------------------------------------------------------------------------


def test_progress_lines_per_batch_and_topic() -> None:
    progress = {
        "batchId": 4,
        "numInputRows": 300,
        "inputRowsPerSecond": 100.0,
        "processedRowsPerSecond": 150.0,
        "durationMs": {"triggerExecution": 2000},
        "sources": [
            {
                "startOffset": json.dumps({"a": {"0": 10, "1": 0}, "b": {"0": 0}}),
                "endOffset": json.dumps({"a": {"0": 110, "1": 100}, "b": {"0": 100}}),
                "latestOffset": json.dumps({"a": {"0": 150, "1": 100}, "b": {"0": 100}}),
            }
        ],
    }
    lines = progress_lines(progress)
    assert lines[0] == "batch 4: 300 rows, input 100.0 rows/s, processed 150.0 rows/s, 2000 ms, 40 offsets behind"
    assert lines[1] == "  a: 200 rows, input 66.7 rows/s, processed 100.0 rows/s, 40 offsets behind"
    assert lines[2] == "  b: 100 rows, input 33.3 rows/s, processed 50.0 rows/s, 0 offsets behind"
    assert topic_offsets(None) == {}
    assert len(lines) == 3
    # The job runs a query per entity: each line names its query.
    assert progress_lines({**progress, "name": "p_vehicle"})[0].startswith("p_vehicle batch 4: 300 rows")
    # Where the batch's time went, in the order Spark's phases run, and when it triggered.
    timed = {
        **progress,
        "timestamp": "2026-11-30T01:02:03.456Z",
        "durationMs": {"addBatch": 1500, "latestOffset": 20, "walCommit": 30, "triggerExecution": 2000},
    }
    assert progress_lines(timed)[-1] == (
        "  time: latestOffset 20 ms, walCommit 30 ms, addBatch 1500 ms (trigger at 2026-11-30T01:02:03.456Z)"
    )


# --- schemas ----------------------------------------------------------------------------------------------

V1: dict[str, Any] = {
    "type": "record",
    "name": "Ping",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "event_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}
V2: dict[str, Any] = {**V1, "fields": [*V1["fields"], {"name": "colour", "type": "string", "default": "unknown"}]}


def test_required_fields_are_the_non_nullable_ones() -> None:
    assert required_fields(V2) == ("id", "event_time", "colour")
    assert required_fields(json.dumps(V1)) == ("id", "event_time")


def test_reasons_are_distinct_and_start_with_a_code() -> None:
    assert reason_unknown_id(7).startswith("unknown-schema-id: schema id 7 ")
    assert reason_foreign_id(7, "a-value", ["b-value"]) == (
        "foreign-schema-id: schema id 7 is registered for b-value, not for a-value"
    )


# --- decoding on a local Spark ----------------------------------------------------------------------------


def _body(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), record)
    return out.getvalue()


@pytest.fixture(scope="module")
def spark() -> Any:
    from streaming.session import get_spark

    # Left running: the integration tests of the same pytest run reuse it (startup is slow on two cores).
    return get_spark(StreamingSettings.from_env(), app_name="telemetry-tests")


@pytest.mark.slow
def test_each_record_decodes_with_its_writer_schema_and_bad_ones_get_reasons(spark: Any) -> None:
    from streaming.decode import with_header
    from streaming.rows import entity_frame, good_rows, quarantine_rows

    t = datetime(2025, 1, 6, 23, 59, 59, 123000, tzinfo=UTC)
    v1 = _body(V1, {"id": "a", "event_time": t, "note": None})
    v2 = _body(V2, {"id": "b", "event_time": t, "note": "hi", "colour": "red"})
    values: list[bytes | None] = [
        frame(1, v1),  # version 1: gets colour's default
        frame(2, v2),  # version 2
        b"\x01" + frame(1, v1)[1:],  # wrong magic byte
        b"\x00\x00",  # shorter than the header
        None,  # tombstone
        frame(3, v1),  # id of another subject
        frame(4, v1),  # id the registry does not know
        frame(1, v1[:3]),  # truncated body
        frame(1, v1 + b"\x00\x02hi"),  # a whole body, then bytes that are not part of it
        frame(2, v2 + b"\x00"),  # one stray byte
        frame(1, _body(V1, {"id": "c", "event_time": datetime(2023, 12, 31, 23, 59, tzinfo=UTC), "note": None})),
        frame(1, _body(V1, {"id": "d", "event_time": t + timedelta(days=1), "note": None})),  # ahead: still shown
        frame(1, _body(V1, {"id": "e", "event_time": t + timedelta(days=2), "note": None})),
    ]
    rows = [("t", 0, n, t, b"k", v, t) for n, v in enumerate(values)]
    kafka = spark.createDataFrame(
        rows,
        "topic string, partition int, offset long, timestamp timestamp, key binary, value binary,"
        " ingested_at timestamp",
    )
    plan = EntityPlan(
        "ping", "t", "t-value", json.dumps(V2),
        writers={1: json.dumps(V1), 2: json.dumps(V2)},
        rejected={3: reason_foreign_id(3, "t-value", ["u-value"]), 4: reason_unknown_id(4)},
    )  # fmt: skip
    decoded = entity_frame(with_header(kafka), plan)

    good = good_rows(decoded, plan, t).orderBy("kafka_offset")
    assert good.columns == ["id", "event_time", "note", "colour", *[f["name"] for f in METADATA_FIELDS]]
    got = [r.asDict() for r in good.collect()]
    assert [(r["id"], r["note"], r["colour"], r["schema_id"], r["event_time"].date()) for r in got] == [
        ("a", None, "unknown", 1, date(2025, 1, 6)),
        ("b", "hi", "red", 2, date(2025, 1, 6)),
        ("d", None, "unknown", 1, date(2025, 1, 7)),
    ]
    assert got[0]["event_time"] == t.replace(tzinfo=None)  # Spark hands back session-zone (UTC) naive times
    assert got[0]["ingested_at"] == t.replace(tzinfo=None)

    bad = quarantine_rows(decoded, t).orderBy("kafka_offset")
    assert bad.columns == [f["name"] for f in QUARANTINE_FIELDS]
    quarantined = {r["kafka_offset"]: r for r in bad.collect()}
    codes = {offset: row["reason"].split(":")[0] for offset, row in quarantined.items()}
    assert codes == {
        2: "bad-magic-byte",
        3: "short-value",
        4: "null-value",
        5: "foreign-schema-id",
        6: "unknown-schema-id",
        7: "undecodable-body",
        8: "trailing-bytes",
        9: "trailing-bytes",
        10: "event-time-before-start",  # the catalog's tables start on 2024-01-01: Athena would not show it
        12: "event-time-future",
    }
    assert quarantined[2]["reason"].startswith("bad-magic-byte: the first byte is 1")
    assert bytes(quarantined[7]["raw_value"]) == values[7]
    assert [quarantined[o]["schema_id"] for o in (*range(2, 11), 12)] == [None, None, None, 3, 4, 1, 1, 2, 1, 1]
    assert quarantined[9]["reason"].startswith("trailing-bytes: bytes follow the Avro body of writer schema id 2;")


@pytest.mark.slow
def test_a_plan_builds_its_columns_once_and_a_new_writer_makes_a_new_plan(spark: Any) -> None:
    from streaming.decode import decoded_column
    from streaming.reasons import reason_column

    schema = json.dumps({"type": "record", "name": "R", "fields": [{"name": "id", "type": "string"}]})
    plan = EntityPlan("e", "t", "t-value", schema, writers={1: schema}, rejected={9: reason_unknown_id(9)})
    same = EntityPlan("e", "t", "t-value", schema, writers={1: schema}, rejected={9: reason_unknown_id(9)})
    grown = EntityPlan("e", "t", "t-value", schema, writers={1: schema, 2: schema}, rejected=plan.rejected)
    assert plan == same and hash(plan) == hash(same)
    assert plan != grown
    # Every batch under an unchanged plan reuses the columns instead of building them again through py4j.
    assert decoded_column(same) is decoded_column(plan)
    assert reason_column(same) is reason_column(plan)
    assert decoded_column(grown) is not decoded_column(plan)


def test_a_batch_end_offsets_become_kafka_partitions_for_the_monitoring_group() -> None:
    from streaming.monitor import partition_offsets

    parts = partition_offsets('{"t_vehicle_data": {"1": 7, "0": 12, "10": 3}, "t_gps_data": {"0": -1}}')
    assert [(p.topic, p.partition, p.offset) for p in parts] == [
        ("t_vehicle_data", 0, 12),
        ("t_vehicle_data", 1, 7),
        ("t_vehicle_data", 10, 3),
    ]
    assert partition_offsets(None) == partition_offsets("null") == []


def test_a_coordinator_moving_during_a_broker_restart_is_not_a_failure_of_the_monitoring_commit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A rolling restart moves the group's coordinator: the commit is retried by the next batch, quietly."""
    import logging

    from confluent_kafka import KafkaError, KafkaException

    from core.settings import ConnectionSettings
    from streaming.monitor import OffsetsMonitor

    class _Refusing:
        def __init__(self, code: int, text: str) -> None:
            self.error = KafkaError(code, text)

        def commit(self, **_: object) -> None:
            raise KafkaException(self.error)

        def close(self) -> None:
            pass

    monitor = OffsetsMonitor(ConnectionSettings(bootstrap_servers="127.0.0.1:1", topic_prefix="t_"))
    monitor._consumer.close()
    offsets = '{"t_gps_data": {"0": 3}}'
    with caplog.at_level(logging.INFO, logger="streaming.monitor"):
        monitor._consumer = _Refusing(  # type: ignore[assignment]
            KafkaError.COORDINATOR_LOAD_IN_PROGRESS, "Commit failed: Broker: Coordinator load in progress"
        )
        monitor.commit(offsets)
        monitor._consumer = _Refusing(KafkaError.GROUP_AUTHORIZATION_FAILED, "Commit failed: not authorized")  # type: ignore[assignment]
        monitor.commit(offsets)
    monitor.close()
    (moving, refused) = caplog.records
    assert moving.levelno == logging.INFO and "COORDINATOR_LOAD_IN_PROGRESS" in moving.getMessage()
    assert "failed" not in moving.getMessage()  # the faults suite reads a job's log for failures
    assert refused.levelno == logging.WARNING and "GROUP_AUTHORIZATION_FAILED" in refused.getMessage()
