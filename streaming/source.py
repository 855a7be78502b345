"""The Kafka side of the job: source options for Spark and a start-up check that the topics exist."""

from __future__ import annotations

from collections.abc import Iterable

from core.errors import ConfigError, TelemetryError
from core.settings import ConnectionSettings, jaas_quote
from core.topics import existing_topics
from streaming.settings import StreamingSettings

__all__ = ["LOGIN_MODULES", "check_topics", "kafka_options", "kafka_source_options"]

# One login module per mechanism of core.kafka_security.SASL_MECHANISMS (a unit test holds them together).
LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


FETCH_MAX_WAIT_MS = 10
"""How long a broker may hold a fetch of the job's consumers waiting for data (Kafka's default: 500 ms)."""


def kafka_options(connection: ConnectionSettings) -> dict[str, str]:
    """Kafka client settings as Spark's Kafka source takes them (``kafka.``-prefixed Java names).

    The CA (``TELEMETRY_KAFKA_SSL_CA_LOCATION``) becomes a PEM truststore, which the Java client reads
    as it is; the SASL credentials become a JAAS line with every value fully escaped.
    """
    options = {"kafka.bootstrap.servers": connection.bootstrap_servers}
    if connection.security_protocol:
        options["kafka.security.protocol"] = connection.security_protocol
    if connection.ssl_ca_location:
        options["kafka.ssl.truststore.type"] = "PEM"
        options["kafka.ssl.truststore.location"] = connection.ssl_ca_location
    if connection.sasl_mechanism and connection.sasl_username and connection.sasl_password:
        module = LOGIN_MODULES.get(connection.sasl_mechanism.upper())
        if module is None:
            msg = f"SASL mechanism {connection.sasl_mechanism} is not supported; use one of {sorted(LOGIN_MODULES)}"
            raise ConfigError(msg)
        user = jaas_quote(connection.sasl_username)
        password = jaas_quote(connection.sasl_password.get())
        options["kafka.sasl.mechanism"] = connection.sasl_mechanism
        options["kafka.sasl.jaas.config"] = f"{module} required username={user} password={password};"
    return options


def kafka_source_options(settings: StreamingSettings, topics: Iterable[str]) -> dict[str, str]:
    """All options of the job's Kafka source: subscription, starting offsets, batch cap, no data loss."""
    options = {
        **kafka_options(settings.connection),
        "subscribe": ",".join(topics),
        "startingOffsets": settings.starting_offsets,
        # A gap in the offsets (retention, a deleted topic) stops the job instead of skipping records.
        "failOnDataLoss": "true",
        # Spark's consumers join groups under this prefix: an ACL on the prefix lets them read, nothing more.
        "groupIdPrefix": f"{settings.connection.topic_prefix}telemetry-lake-spark",
        # A task reads an offset range that the driver saw in the log, so no fetch has data to wait for; at
        # Kafka's default of 500 ms a task with a new consumer (a query's first batch, every batch read) spent
        # about that long waiting on one fetch: five topics' 2,000 records took 3.7 s to read, 0.8 s at 10 ms
        # (docs/benchmarks.md, "Streaming: where the time goes").
        "kafka.fetch.max.wait.ms": str(FETCH_MAX_WAIT_MS),
    }
    if settings.max_offsets_per_trigger:
        options["maxOffsetsPerTrigger"] = str(settings.max_offsets_per_trigger)
    return options


def check_topics(connection: ConnectionSettings, topics: Iterable[str], timeout: float = 15.0) -> None:
    """Fail with one clear line when Kafka is unreachable or a topic is missing.

    Spark would otherwise wait silently for a topic that does not exist.
    """
    existing = existing_topics(connection, timeout=timeout)
    missing = [t for t in topics if t not in existing]
    if missing:
        msg = f"topic(s) {', '.join(missing)} do not exist at {connection.bootstrap_servers}; `make up` creates them"
        raise TelemetryError(msg)
