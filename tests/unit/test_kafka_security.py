"""Kafka and registry security settings: secrets from files, escaping, refusals, the Spark side."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.kafka_security import SASL_MECHANISMS
from core.secrets import jaas_quote
from core.settings import ConnectionSettings
from streaming.settings import StreamingSettings
from streaming.source import LOGIN_MODULES, kafka_options, kafka_source_options


def _sasl_env(tmp_path: Path, secret_text: str = "s3cret", mechanism: str = "SCRAM-SHA-512") -> dict[str, str]:  # noqa: S107 - a test value
    ca = tmp_path / "ca.pem"
    ca.write_text("the CA certificate (only its presence is checked here)\n")
    secret = tmp_path / "producer.password"
    secret.write_text(secret_text + "\n")
    return {
        "TELEMETRY_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
        "TELEMETRY_KAFKA_SASL_MECHANISM": mechanism,
        "TELEMETRY_KAFKA_SASL_USERNAME": "producer",
        "TELEMETRY_KAFKA_SASL_PASSWORD_FILE": str(secret),
        "TELEMETRY_KAFKA_SSL_CA_LOCATION": str(ca),
    }


def test_the_password_comes_from_a_file_and_maps_onto_librdkafka_names(tmp_path: Path) -> None:
    settings = ConnectionSettings.from_env(_sasl_env(tmp_path))
    assert "s3cret" not in repr(settings)
    assert settings.kafka_config() == {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "producer",
        "sasl.password": "s3cret",  # secret-scan: allow
        "ssl.ca.location": str(tmp_path / "ca.pem"),
    }


def test_a_password_given_twice_or_a_missing_file_is_refused(tmp_path: Path) -> None:
    env = _sasl_env(tmp_path)
    with pytest.raises(ConfigError, match="both set"):
        ConnectionSettings.from_env({**env, "TELEMETRY_KAFKA_SASL_PASSWORD": "other"})
    with pytest.raises(ConfigError, match="cannot read"):
        ConnectionSettings.from_env({**env, "TELEMETRY_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "nope")})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"TELEMETRY_KAFKA_SASL_MECHANISM": "GSSAPI"}, "must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
        ({"TELEMETRY_KAFKA_SECURITY_PROTOCOL": "SSL"}, "goes with TELEMETRY_KAFKA_SECURITY_PROTOCOL SASL_SSL"),
        ({"TELEMETRY_KAFKA_SECURITY_PROTOCOL": "TLS"}, "must be one of PLAINTEXT, SSL"),
        ({"TELEMETRY_KAFKA_SSL_CA_LOCATION": "/no/such/ca.pem"}, "is not a file"),
    ],
)
def test_contradictory_kafka_security_is_refused(tmp_path: Path, change: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ConnectionSettings.from_env({**_sasl_env(tmp_path), **change})


def test_registry_basic_auth_over_plain_http_is_refused_unless_allowed() -> None:
    env = {"TELEMETRY_REGISTRY_USER": "u"}
    env["TELEMETRY_REGISTRY_PASSWORD"] = "hunter2"  # noqa: S105  # secret-scan: allow
    with pytest.raises(ConfigError, match="in clear") as refused:
        ConnectionSettings.from_env(env)
    assert "\n" not in str(refused.value) and "hunter2" not in str(refused.value)
    allowed = ConnectionSettings.from_env({**env, "TELEMETRY_REGISTRY_ALLOW_INSECURE_AUTH": "1"})
    assert allowed.registry_auth() == ("u", "hunter2")
    secure = ConnectionSettings.from_env({**env, "TELEMETRY_REGISTRY_URL": "https://sr.example/apis/ccompat/v7"})
    assert secure.registry_auth() == ("u", "hunter2")


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("plain", '"plain"'),
        ('p"w', '"p\\"w"'),
        ("back\\slash", '"back\\\\slash"'),
        ('\\"', '"\\\\\\""'),
        ("two\nlines", '"two\\nlines"'),
    ],
)
def test_jaas_values_are_escaped_fully(value: str, quoted: str) -> None:
    assert jaas_quote(value) == quoted


def test_the_spark_source_speaks_every_mechanism_the_producer_accepts(tmp_path: Path) -> None:
    assert set(LOGIN_MODULES) == set(SASL_MECHANISMS)
    for mechanism in SASL_MECHANISMS:
        options = kafka_options(ConnectionSettings.from_env(_sasl_env(tmp_path, 'a\\b"c', mechanism)))
        assert options["kafka.sasl.mechanism"] == mechanism
        escaped = 'password="a\\\\b\\"c";'  # secret-scan: allow
        assert options["kafka.sasl.jaas.config"] == f'{LOGIN_MODULES[mechanism]} required username="producer" {escaped}'
        assert options["kafka.ssl.truststore.type"] == "PEM"
        assert options["kafka.ssl.truststore.location"] == str(tmp_path / "ca.pem")


def test_spark_consumer_groups_carry_the_prefix_the_acls_allow(tmp_path: Path) -> None:
    settings = StreamingSettings.from_env({"TELEMETRY_HOME": str(tmp_path)}, topic_prefix="t1_")
    assert kafka_source_options(settings, ["t1_gps_data"])["groupIdPrefix"] == "t1_telemetry-lake-spark"
