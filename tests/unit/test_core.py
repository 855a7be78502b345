"""The shared core: wire format, stream mapping, settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.catalog import load_catalog, project_root
from core.errors import ConfigError, SchemaError, SerializationError
from core.lake import LakeLocation
from core.settings import ConnectionSettings, Secret
from core.wire import frame, parse_header


def test_wire_format_round_trip() -> None:
    message = frame(258, b"\x02body")
    assert message[:5] == b"\x00\x00\x00\x01\x02"
    assert parse_header(message) == (258, b"\x02body")


@pytest.mark.parametrize(
    ("message", "reason"),
    [(b"\x01\x00\x00\x00\x01x", "magic byte is 1"), (b"\x00\x00", "shorter than the 5-byte")],
)
def test_bad_headers_are_refused_with_the_reason(message: bytes, reason: str) -> None:
    with pytest.raises(SerializationError, match=reason):
        parse_header(message)


def test_catalog_declares_five_streams_with_topic_name_subjects() -> None:
    catalog = load_catalog()
    assert catalog.names == ["vehicle", "gps", "traffic", "weather", "emergency"]
    for stream in catalog.streams:
        assert stream.subject == f"{stream.topic}-value"
        assert stream.compatibility == "BACKWARD_TRANSITIVE"
        assert stream.key_field == "vehicle_id"


def _copy_schemas(tmp_path: Path) -> Path:
    target = tmp_path / "schemas"
    shutil.copytree(project_root() / "schemas", target)
    return target


def test_unknown_key_in_streams_toml_is_refused(tmp_path: Path) -> None:
    root = _copy_schemas(tmp_path)
    mapping = root / "streams.toml"
    mapping.write_text(mapping.read_text().replace('topic = "gps_data"', 'topic = "gps_data"\npartition = 3'))
    with pytest.raises(SchemaError, match=r"\[streams.gps\]: unknown keys \['partition'\]"):
        load_catalog(root)


def test_missing_schema_file_names_it(tmp_path: Path) -> None:
    root = _copy_schemas(tmp_path)
    (root / "weather.avsc").unlink()
    with pytest.raises(SchemaError, match=r"weather\.avsc does not exist"):
        load_catalog(root)


def test_invalid_schema_json_names_file_and_position(tmp_path: Path) -> None:
    root = _copy_schemas(tmp_path)
    (root / "gps.avsc").write_text('{"type": "record",')
    with pytest.raises(SchemaError, match=r"gps.avsc: not valid JSON at line 1"):
        load_catalog(root)


def test_settings_keep_secrets_out_of_repr() -> None:
    settings = ConnectionSettings.from_env(
        {
            "TELEMETRY_REGISTRY_URL": "https://registry.example/apis/ccompat/v7",
            "TELEMETRY_REGISTRY_USER": "u",
            "TELEMETRY_REGISTRY_PASSWORD": "hunter2",  # secret-scan: allow
        }
    )
    assert "hunter2" not in repr(settings)
    assert settings.registry_auth() == ("u", "hunter2")
    assert repr(Secret("x")) == "Secret('**********')"


def test_contradictory_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="go together"):
        ConnectionSettings.from_env({"TELEMETRY_REGISTRY_USER": "u"})
    with pytest.raises(ConfigError, match="http"):
        ConnectionSettings.from_env({"TELEMETRY_REGISTRY_URL": "localhost:8081"})


def test_topic_prefix_applies_to_topics_and_subjects() -> None:
    settings = ConnectionSettings.from_env({}, topic_prefix="t1_")
    assert settings.topic("gps_data") == "t1_gps_data"
    assert settings.subject("gps_data-value") == "t1_gps_data-value"
    assert settings.kafka_config() == {"bootstrap.servers": "127.0.0.1:9092"}


@pytest.mark.parametrize(
    ("value", "hadoop", "catalog"),
    [
        ("s3a://bucket/lake/", "s3a://bucket/lake/vehicle", "s3://bucket/lake/vehicle/"),
        ("s3://bucket", "s3a://bucket/vehicle", "s3://bucket/vehicle/"),
        ("s3n://bucket/a/b", "s3a://bucket/a/b/vehicle", "s3://bucket/a/b/vehicle/"),
        ("hdfs://nn:8020/lake", "hdfs://nn:8020/lake/vehicle", "hdfs://nn:8020/lake/vehicle/"),
    ],
)
def test_a_remote_lake_in_every_form(value: str, hadoop: str, catalog: str) -> None:
    location = LakeLocation.parse(value)
    assert (location.hadoop_uri("vehicle"), location.catalog_uri("vehicle")) == (hadoop, catalog)
    with pytest.raises(ConfigError, match="Athena"):
        _ = location.local_path


@pytest.mark.parametrize("folder", ["my lake", "100% lake", "plain"])
def test_a_local_lake_with_odd_characters_is_one_folder_in_every_form(tmp_path: Path, folder: str) -> None:
    path = tmp_path / folder
    for spelling in (str(path), path.as_uri()):
        location = LakeLocation.parse(spelling)
        assert location.local_path == path
        assert location.hadoop_uri("vehicle") == f"file://{path}/vehicle"
        assert location.catalog_uri("vehicle") == (path / "vehicle").as_uri() + "/"


def test_an_empty_lake_or_a_bucketless_uri_is_refused() -> None:
    for value in ("", "  ", "s3a:///prefix"):
        with pytest.raises(ConfigError):
            LakeLocation.parse(value)


def test_the_log_level_is_a_setting_and_a_wrong_one_is_one_line() -> None:
    import subprocess
    import sys

    code = "from core.cli import run_cli; import logging; run_cli(lambda: print(logging.getLogger().level))"
    env = {"PATH": "/usr/bin:/bin", "TELEMETRY_LOG_LEVEL": "debug"}
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert shown.stdout.strip() == "10"
    env["TELEMETRY_LOG_LEVEL"] = "loud"
    refused = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "TELEMETRY_LOG_LEVEL" in refused.stderr


def test_a_cli_at_info_does_not_print_a_line_per_schema_registry_request() -> None:
    """confluent-kafka's registry client logs each request through httpx at INFO (the demo printed them)."""
    import subprocess
    import sys

    code = (
        "from core.cli import run_cli; import logging\n"
        "run_cli(lambda: (logging.getLogger('httpx').info('HTTP Request: GET /schemas/ids/1'),"
        " logging.getLogger('streaming.job').info('batch 0 committed')) and None)"
    )
    env = {"PATH": "/usr/bin:/bin", "TELEMETRY_LOG_LEVEL": "INFO"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0 and "batch 0 committed" in run.stderr and "HTTP Request" not in run.stderr
    env["TELEMETRY_LOG_LEVEL"] = "DEBUG"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert "HTTP Request" in run.stderr
