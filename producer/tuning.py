"""The Kafka producer's throughput and delivery settings; safety settings are fixed, not knobs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import ConfigError

__all__ = ["ProducerTuning"]


@dataclass(frozen=True)
class ProducerTuning:
    """Throughput and delivery knobs (the safety settings, idempotence and acks=all, are not knobs).

    Attributes:
        compression: ``lz4`` (cheapest CPU), ``zstd`` (smallest), ``snappy``, ``gzip`` or ``none``.
        linger_ms: how long a batch waits to fill.
        batch_size: bytes per partition batch.
        batch_num_messages: records per batch.
        queue_max_messages: records buffered in the client before ``produce`` blocks.
        delivery_timeout_s: how long a record may wait for acknowledgement before it counts as failed.
    """

    compression: str = "lz4"
    linger_ms: int = 200
    batch_size: int = 1_000_000
    batch_num_messages: int = 10_000
    queue_max_messages: int = 500_000
    delivery_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if self.compression not in ("lz4", "zstd", "snappy", "gzip", "none"):
            msg = f"compression must be lz4, zstd, snappy, gzip or none, got {self.compression!r}"
            raise ConfigError(msg)
        if not self.delivery_timeout_s > 0:
            msg = f"delivery timeout must be positive seconds, got {self.delivery_timeout_s}"
            raise ConfigError(msg)

    def kafka_config(self) -> dict[str, Any]:
        """The librdkafka properties these settings stand for."""
        return {
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": self.compression,
            "linger.ms": self.linger_ms,
            "batch.size": self.batch_size,
            "batch.num.messages": self.batch_num_messages,
            "queue.buffering.max.messages": self.queue_max_messages,
            "queue.buffering.max.kbytes": 1_048_576,
            "message.timeout.ms": int(self.delivery_timeout_s * 1000),
        }
