"""The Avro producer: records in Confluent wire format against the registered schemas, every delivery checked.

Governed, not auto-registered: on start it looks up the latest registered version of each subject and
fails, before anything is sent, when one is missing. Kafka settings favour not losing a record
(idempotence, ``acks=all``) and then throughput (compression, large batches, a short linger).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import fields
from types import TracebackType
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from core.catalog import Catalog
from core.errors import ConfigError, SchemaError, TelemetryError
from core.kafka_errors import ClientErrors
from core.kafka_logs import librdkafka_logger
from core.settings import ConnectionSettings
from producer.rule_check import RuleChecker
from producer.serializer import WireSerializer
from producer.simulator import Event
from producer.summary import ProduceSummary, TopicCounts
from producer.tuning import ProducerTuning
from producer.writers import lookup_writers

__all__ = ["ProducerTuning", "TelemetryProducer", "lookup_writers", "message_key"]


def message_key(value: dict[str, Any], key_field: str) -> bytes:
    """The Kafka key of a record: its ``key`` field of streams.toml (the vehicle id), as UTF-8.

    Every event of one vehicle goes to one partition, so a consumer reads each vehicle's events in order.
    """
    return str(value[key_field]).encode()


log = logging.getLogger(__name__)
_POLL_EVERY = 1000  # produce calls between two polls that serve delivery reports


class TelemetryProducer:
    """Produces simulator events to Kafka; use as a context manager (it flushes on exit).

    Example:
        ``with TelemetryProducer(settings, catalog) as p: [p.produce(e) for e in simulate(config)]``
    """

    def __init__(self, settings: ConnectionSettings, catalog: Catalog, *, rules: bool = True, **tuning: Any) -> None:
        """Keep the settings; nothing is contacted before :meth:`start` (or ``with``).

        Args:
            settings: where Kafka and the registry are, and the topic prefix.
            catalog: the streams to produce.
            rules: check each record against the data rules of its registered schema before sending it
                (off only to measure what the check costs).
            **tuning: fields of :class:`ProducerTuning` (e.g. ``delivery_timeout_s=5``).
        """
        known = {f.name for f in fields(ProducerTuning)}
        unknown = sorted(set(tuning) - known)
        if unknown:
            msg = f"unknown producer setting(s) {unknown}; known: {sorted(known)}"
            raise ConfigError(msg)
        self.settings = settings
        self.catalog = catalog
        self.tuning = ProducerTuning(**tuning)
        self._writers: dict[str, tuple[str, WireSerializer]] = {}
        self._key_fields = {s.name: s.key_field for s in catalog.streams}
        self._rules = rules
        self._checkers: dict[str, RuleChecker] = {}
        self._producer: Producer | None = None
        self._produced: Counter[str] = Counter()
        self._delivered: Counter[str] = Counter()
        self._failed: Counter[str] = Counter()
        self._bytes = 0
        self._count = 0
        self._started_at: float | None = None
        self._finished_at: float | None = None
        self._last_error: str | None = None
        self._errors = ClientErrors()

    # --- life cycle ---
    def start(self) -> TelemetryProducer:
        """Look up the registered schemas (failing before anything is sent) and create the Kafka client."""
        self._writers = lookup_writers(self.settings, self.catalog)
        if self._rules:
            self._checkers = {name: RuleChecker(s.subject, s.schema) for name, (_, s) in self._writers.items()}
        config = {
            **self.settings.kafka_config(),
            **self.tuning.kafka_config(),
            "on_delivery": self._on_delivery,
            "error_cb": self._on_error,
            "logger": librdkafka_logger("producer"),
        }
        self._producer = Producer(config)
        self._check_topics(self._producer)
        return self

    def _check_topics(self, producer: Producer) -> None:
        """Refuse to start when a topic is missing (brokers do not auto-create); unreachable brokers pass here.

        Unreachable brokers are left to the delivery timeout, which reports the undelivered count.
        """
        try:
            existing = producer.list_topics(timeout=min(10.0, self.tuning.delivery_timeout_s)).topics
        except KafkaException as exc:
            producer.poll(0.5)  # serves the error callbacks: a refused login fails now, not at the delivery timeout
            refused = self._errors.refused_message(self.settings.bootstrap_servers, "the producer")
            if refused:
                raise TelemetryError(refused) from exc
            log.debug("cannot list topics yet: %s", exc)
            return
        missing = sorted({topic for topic, _ in self._writers.values()} - set(existing))
        if missing:
            msg = (
                f"topic(s) {', '.join(missing)} do not exist on {self.settings.bootstrap_servers}; "
                "create them first (`make up` creates the platform's topics)"
            )
            raise TelemetryError(msg)

    def __enter__(self) -> TelemetryProducer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        # Flush even when the body failed (Ctrl-C, a bad record): what was produced must be delivered or counted.
        self.flush()

    # --- producing ---
    def serialize(self, event: Event) -> bytes:
        """The event's value in Confluent wire format, without sending it (a dry run of :meth:`produce`)."""
        serializer = self._writer(event)[1]
        if self._checkers:
            self._checkers[event.stream].check(event.value)
        return serializer.serialize(event.value)

    def produce(self, event: Event) -> None:
        """Serialize ``event`` and hand it to Kafka; the delivery report is counted later.

        Raises:
            RuleViolationError: the record breaks a data rule of its registered schema (nothing is sent).
            SerializationError: the record does not match its registered schema (nothing is sent).
        """
        producer = self._producer
        if producer is None:
            msg = "TelemetryProducer.produce called before start(); use it as a context manager"
            raise RuntimeError(msg)
        topic, serializer = self._writer(event)
        if self._checkers:
            self._checkers[event.stream].check(event.value)
        value = serializer.serialize(event.value)
        if self._started_at is None:
            self._started_at = time.time()
        key = message_key(event.value, self._key_fields[event.stream])
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.05)
            except KafkaException as exc:
                raise self._fatal(exc) from exc
        self._produced[topic] += 1
        self._bytes += len(value)
        self._count += 1
        if self._count % _POLL_EVERY == 0:
            producer.poll(0)

    def poll(self, timeout: float = 0.0) -> None:
        """Serve delivery reports, waiting up to ``timeout`` seconds (use it instead of sleeping)."""
        if self._producer is not None:
            self._producer.poll(timeout)

    def flush(self, timeout: float | None = None) -> int:
        """Wait for every delivery report (by default up to the delivery timeout); returns records still in flight."""
        if self._producer is None:
            return 0
        try:
            remaining = int(self._producer.flush(self.tuning.delivery_timeout_s + 5.0 if timeout is None else timeout))
        except KafkaException as exc:  # a fatal client error, such as a principal without any write right
            raise self._fatal(exc) from exc
        self._finished_at = time.time()
        return remaining

    @property
    def failed(self) -> int:
        """Records whose delivery failed so far."""
        return self._failed.total()

    @property
    def produced(self) -> int:
        """Records handed to Kafka so far."""
        return self._count

    @property
    def delivered(self) -> int:
        """Records acknowledged so far."""
        return self._delivered.total()

    def summary(self) -> ProduceSummary:
        """Events per topic, delivered, failed and throughput so far."""
        topics = [self.settings.topic(s.topic) for s in self.catalog.streams]
        return ProduceSummary(
            topics=tuple(TopicCounts(t, self._produced[t], self._delivered[t], self._failed[t]) for t in topics),
            value_bytes=self._bytes,
            started_at=self._started_at,
            finished_at=self._finished_at or time.time(),
            last_error=self._last_error,
        )

    # --- internals ---
    def _writer(self, event: Event) -> tuple[str, WireSerializer]:
        try:
            return self._writers[event.stream]
        except KeyError:
            if not self._writers:
                msg = "TelemetryProducer used before start(); use it as a context manager"
                raise RuntimeError(msg) from None
            msg = f"event of stream {event.stream!r}, which schemas/streams.toml does not declare"
            raise SchemaError(msg) from None

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        topic = message.topic() or "?"
        if error is None:
            self._delivered[topic] += 1
        else:
            self._failed[topic] += 1
            self._last_error = error.str()

    def _fatal(self, exc: KafkaException) -> TelemetryError:
        error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
        detail = error.str() if error is not None else str(exc)
        who = f"principal {self.settings.sasl_username}" if self.settings.sasl_username else "the producer"
        return TelemetryError(f"Kafka at {self.settings.bootstrap_servers} refused {who}: {detail}")

    def _on_error(self, error: KafkaError) -> None:
        # Client-level errors (all brokers down, authentication): kept for the summary, deliveries decide.
        self._errors(error)
        self._last_error = error.str()
        log.debug("kafka client error: %s", error.str())
