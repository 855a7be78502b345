"""Telling a refused Kafka client from an unreachable cluster.

librdkafka retries a failed authentication or TLS handshake forever and reports it only through the
client's ``error_cb``; a metadata request then fails with a bare "Broker transport failure". The
clients keep those errors with :class:`ClientErrors` and say the refusal itself in one line.
"""

from __future__ import annotations

from confluent_kafka import KafkaError

__all__ = ["ClientErrors"]

# librdkafka spells its local error codes with a leading underscore; they are public API.
_REFUSALS = (KafkaError._AUTHENTICATION, KafkaError._SSL)  # noqa: SLF001


class ClientErrors:
    """An ``error_cb`` that keeps the client-level errors worth telling the user."""

    def __init__(self) -> None:
        self.refusal: str | None = None
        self.last: str | None = None

    def __call__(self, error: KafkaError) -> None:
        """Keep ``error`` (pass this object as the client's ``error_cb``)."""
        self.last = error.str()
        if error.code() in _REFUSALS and self.refusal is None:
            self.refusal = error.str()

    def refused_message(self, bootstrap_servers: str, who: str = "the client") -> str | None:
        """One line when the cluster refused ``who`` (bad credentials, an untrusted certificate), else None."""
        if self.refusal is None:
            return None
        detail = self.refusal.split(": ", 1)[-1]
        return (
            f"Kafka at {bootstrap_servers} refused {who}: {detail}; check TELEMETRY_KAFKA_SASL_USERNAME, its password "
            "and TELEMETRY_KAFKA_SSL_CA_LOCATION"
        )
