"""Kafka client security settings: which protocols and SASL mechanisms, and how they must go together.

The names are Kafka's own (``security.protocol``, ``sasl.mechanism``, ``ssl.ca.location``); librdkafka
(producer, governance, the stack's admin calls) and the Java client (Spark's Kafka source) take the
same values, so the platform accepts exactly the mechanisms both speak.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import ConfigError
from core.secrets import Secret

__all__ = ["SASL_MECHANISMS", "SECURITY_PROTOCOLS", "check_kafka_security"]

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
"""Kafka's ``security.protocol`` values."""
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
"""The SASL mechanisms every client of the platform speaks: librdkafka and Spark's Kafka source (JAAS)."""


def check_kafka_security(
    protocol: str | None,
    mechanism: str | None,
    username: str | None,
    password: Secret | None,
    ca_location: str | None,
) -> None:
    """Refuse a Kafka security setting that is unknown or contradicts another (one line each).

    Raises:
        ConfigError: an unknown protocol or mechanism, SASL half configured, or a CA that is not a file.
    """
    protocol = protocol or "PLAINTEXT"
    if protocol not in SECURITY_PROTOCOLS:
        msg = f"TELEMETRY_KAFKA_SECURITY_PROTOCOL must be one of {', '.join(SECURITY_PROTOCOLS)}, got {protocol}"
        raise ConfigError(msg)
    if mechanism and mechanism not in SASL_MECHANISMS:
        msg = f"TELEMETRY_KAFKA_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}, got {mechanism}"
        raise ConfigError(msg)
    if protocol.startswith("SASL_") != bool(mechanism):
        msg = (
            "TELEMETRY_KAFKA_SASL_MECHANISM goes with TELEMETRY_KAFKA_SECURITY_PROTOCOL SASL_SSL or SASL_PLAINTEXT "
            f"(got mechanism {mechanism or 'unset'}, protocol {protocol})"
        )
        raise ConfigError(msg)
    if mechanism and not (username and password):
        msg = (
            "TELEMETRY_KAFKA_SASL_MECHANISM needs TELEMETRY_KAFKA_SASL_USERNAME and a password "
            "(TELEMETRY_KAFKA_SASL_PASSWORD_FILE or TELEMETRY_KAFKA_SASL_PASSWORD)"
        )
        raise ConfigError(msg)
    if ca_location:
        if not protocol.endswith("SSL"):
            msg = f"TELEMETRY_KAFKA_SSL_CA_LOCATION is set but the security protocol is {protocol}, not SSL"
            raise ConfigError(msg)
        if not Path(ca_location).is_file():
            msg = f"TELEMETRY_KAFKA_SSL_CA_LOCATION: {ca_location} is not a file (a PEM CA certificate)"
            raise ConfigError(msg)
