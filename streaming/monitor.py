"""The job's progress where Kafka's lag tools look: offsets committed to a consumer group, for monitoring only.

Spark's Kafka source keeps its offsets in the checkpoint and commits nothing to Kafka, so
``kafka-consumer-groups.sh --describe``, Burrow, Kafka UI or a cloud console would show no consumer.
After each micro-batch the job commits the batch's end offsets to the group
``<prefix>telemetry-lake`` (one group for every entity's query), so those tools show the job's lag per
partition. The checkpoint stays the only source of truth: the group's offsets are never read back,
and a commit that fails is logged and skipped; the next batch commits again.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from core.kafka_logs import librdkafka_logger
from core.settings import ConnectionSettings

__all__ = ["OffsetsMonitor", "monitoring_group", "partition_offsets"]

log = logging.getLogger(__name__)


_TRANSIENT = frozenset({
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.REQUEST_TIMED_OUT, KafkaError._TIMED_OUT, KafkaError._TRANSPORT,  # noqa: SLF001 - librdkafka's own codes
})  # fmt: skip
"""Errors of a group coordinator moving (a broker restarting): expected, and the next batch's commit succeeds."""


def monitoring_group(connection: ConnectionSettings) -> str:
    """The consumer group that shows the job's progress: ``<prefix>telemetry-lake``."""
    return f"{connection.topic_prefix}telemetry-lake"


def partition_offsets(offsets: Any) -> list[TopicPartition]:
    """A Kafka source offset object (``{"topic": {"0": 12}}`` or its JSON text) as Kafka's partitions."""
    if offsets in (None, "", "null"):
        return []
    data = json.loads(offsets) if isinstance(offsets, str) else offsets
    if not isinstance(data, Mapping):
        return []
    return [
        TopicPartition(str(topic), int(partition), int(offset))
        for topic, parts in sorted(data.items())
        if isinstance(parts, Mapping)
        for partition, offset in sorted(parts.items(), key=lambda item: int(item[0]))
        if int(offset) >= 0
    ]


class OffsetsMonitor:
    """Commits end offsets of finished batches to the monitoring group (a consumer that never polls)."""

    def __init__(self, connection: ConnectionSettings) -> None:
        self.group = monitoring_group(connection)
        config = {**connection.kafka_config(), "group.id": self.group, "enable.auto.commit": False,
                  "logger": librdkafka_logger("streaming.monitor")}  # fmt: skip
        self._consumer = Consumer(config)
        self._lock = threading.Lock()  # listener callbacks of several queries may overlap
        self._closed = False

    def commit(self, end_offsets: Any) -> None:
        """Commit a batch's end offsets; a failure is a warning, never the job's failure."""
        partitions = partition_offsets(end_offsets)
        if not partitions:
            return
        with self._lock:
            if self._closed:  # a progress event delivered after the run ended: the run committed its last batch
                return
            try:
                self._consumer.commit(offsets=partitions, asynchronous=False)
            except KafkaException as exc:
                error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
                transient = error is not None and (error.retriable() or error.code() in _TRANSIENT)
                log.log(
                    logging.INFO if transient else logging.WARNING,
                    "progress not committed to consumer group %s (monitoring only; the next batch commits again): %s",
                    self.group,
                    error.name() if error is not None else exc,
                )

    def close(self) -> None:
        """Leave nothing behind (the group's committed offsets stay, for the lag tools)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._consumer.close()
