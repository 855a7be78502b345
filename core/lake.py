"""The lake's layout and the columns the streaming job adds to every entity's schema fields.

Both the streaming job (which writes them) and the catalog (which declares them) read this module,
so the Glue columns and the Parquet files cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from core.errors import ConfigError

__all__ = [
    "DEFAULT_PROJECTION_START",
    "FUTURE_DAYS",
    "METADATA_FIELDS",
    "PARTITION_COLUMN",
    "QUARANTINE_DIR",
    "QUARANTINE_FIELDS",
    "LakeLocation",
    "projection_range",
    "projection_start",
]

_S3_SCHEMES = ("s3", "s3a", "s3n")

PARTITION_COLUMN = "dt"
"""Event date in UTC, ``YYYY-MM-DD``: the only partition key of every table."""

QUARANTINE_DIR = "_quarantine"

DEFAULT_PROJECTION_START = "2024-01-01"
"""First ``dt`` of the tables (``TELEMETRY_PROJECTION_START``): Athena's partition projection starts here."""
FUTURE_DAYS = 1
"""How many days after its ingestion date an event's ``dt`` may be (clocks ahead across midnight)."""


def projection_start(text: str) -> date:
    """The projection's first date from its ``YYYY-MM-DD`` text.

    Raises:
        ConfigError: the text is not such a date.
    """
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        msg = f"projection start must be a date like 2024-01-01, got {text!r}"
        raise ConfigError(msg) from exc


def projection_range(start: str) -> str:
    """Athena's ``projection.dt.range``: the days the catalog shows are exactly the days the job writes.

    The streaming job quarantines an event dated before ``start`` or more than :data:`FUTURE_DAYS`
    after the day it is ingested, so every row it writes is inside this range when it lands.
    """
    return f"{projection_start(start).isoformat()},NOW+{FUTURE_DAYS}DAYS"


# Avro-typed so that one type mapping (Avro -> Spark, Avro -> Glue, Avro -> DuckDB) serves them too.
_TIMESTAMP: dict[str, Any] = {"type": "long", "logicalType": "timestamp-millis"}

METADATA_FIELDS: tuple[dict[str, Any], ...] = (
    {"name": "kafka_topic", "type": "string", "doc": "Kafka topic the record was read from."},
    {"name": "kafka_partition", "type": "int", "doc": "Kafka partition of the record."},
    {"name": "kafka_offset", "type": "long", "doc": "Offset of the record in its partition."},
    {"name": "kafka_timestamp", "type": _TIMESTAMP, "doc": "Kafka message timestamp, UTC."},
    {"name": "schema_id", "type": "int", "doc": "Registry id of the writer schema of the record."},
    {"name": "ingested_at", "type": _TIMESTAMP, "doc": "When the streaming job wrote the record, UTC."},
)
"""Columns the streaming job appends after the schema's own fields, in this order."""

QUARANTINE_FIELDS: tuple[dict[str, Any], ...] = (
    {"name": "kafka_topic", "type": "string", "doc": "Kafka topic of the bad record."},
    {"name": "kafka_partition", "type": "int", "doc": "Kafka partition of the bad record."},
    {"name": "kafka_offset", "type": "long", "doc": "Offset of the bad record."},
    {"name": "kafka_timestamp", "type": _TIMESTAMP, "doc": "Kafka message timestamp, UTC."},
    {"name": "kafka_key", "type": ["null", "bytes"], "doc": "Raw key bytes."},
    {"name": "raw_value", "type": ["null", "bytes"], "doc": "Raw value bytes, as read from Kafka."},
    {"name": "schema_id", "type": ["null", "int"], "doc": "Schema id from the header, when there is one."},
    {"name": "reason", "type": "string", "doc": "Why the record was quarantined."},
    {"name": "ingested_at", "type": _TIMESTAMP, "doc": "When the streaming job quarantined it, UTC."},
)
"""Columns of ``<lake>/_quarantine/<entity>/`` (partitioned by ingestion date ``dt``)."""


@dataclass(frozen=True)
class LakeLocation:
    """Where the lake (or a checkpoint root) is, in the form each of its users needs.

    ``TELEMETRY_LAKE`` is read once, by :meth:`parse`, and every stage asks this type for its form:
    Spark and Hadoop (:meth:`hadoop_uri`), Glue and Athena (:meth:`catalog_uri`), DuckDB and the
    local file system (:attr:`local_path`). A local folder may hold spaces, ``%`` or ``~``.

    Attributes:
        scheme: ``""`` for a local folder, ``s3`` for any S3 spelling, else the URI's scheme (``hdfs``).
        authority: the bucket (S3) or host (HDFS); empty for a local folder.
        path: the absolute folder (local) or the key prefix without leading or trailing ``/`` (remote).
    """

    scheme: str
    authority: str
    path: str

    @classmethod
    def parse(cls, value: str) -> LakeLocation:
        """Read a folder, ``file://`` URI, ``s3://``/``s3a://``/``s3n://`` or other Hadoop URI.

        Raises:
            ConfigError: the value is empty, or an S3 URI names no bucket.
        """
        text = value.strip()
        if not text:
            msg = "the lake/checkpoint location is empty; give a folder or s3a://bucket/prefix"
            raise ConfigError(msg)
        parsed = urlparse(text)
        if parsed.scheme == "file":
            return cls("", "", str(Path(unquote(parsed.path)).expanduser().resolve()))
        if len(parsed.scheme) <= 1:  # no scheme, or a one-letter Windows drive
            return cls("", "", str(Path(text).expanduser().resolve()))
        scheme = "s3" if parsed.scheme in _S3_SCHEMES else parsed.scheme
        if not parsed.netloc:
            msg = f"{text!r} names no bucket or host; expected {parsed.scheme}://bucket/prefix"
            raise ConfigError(msg)
        return cls(scheme, parsed.netloc, parsed.path.strip("/"))

    @property
    def is_local(self) -> bool:
        """Whether the lake is a folder on this machine."""
        return not self.scheme

    @property
    def local_path(self) -> Path:
        """The lake folder.

        Raises:
            ConfigError: the lake is remote (S3, HDFS): query it with Athena, not locally.
        """
        if not self.is_local:
            msg = (
                f"the lake is {self.catalog_uri().rstrip('/')}, not a local folder; query a lake on S3 with Athena "
                "(docs/athena-queries.md)"
            )
            raise ConfigError(msg)
        return Path(self.path)

    def _key(self, parts: tuple[str, ...]) -> str:
        return "/".join(p.strip("/") for p in (self.path, *parts) if p.strip("/"))

    def hadoop_uri(self, *parts: str) -> str:
        """The URI Spark and Hadoop's FileSystem take: ``s3a://bucket/key``, or ``file://`` and the raw path.

        Hadoop's ``Path`` does not decode ``%20``, so a local folder is given unescaped (``file:///a b``).
        """
        if self.is_local:
            return "file://" + str(Path(self.path).joinpath(*parts))
        scheme = "s3a" if self.scheme == "s3" else self.scheme
        return f"{scheme}://{self.authority}/{self._key(parts)}".rstrip("/")

    def catalog_uri(self, *parts: str) -> str:
        """The location Glue and Athena store, ending in ``/``: ``s3://bucket/key/`` or a ``file://`` URI."""
        if self.is_local:
            return Path(self.path).joinpath(*parts).as_uri().rstrip("/") + "/"
        key = self._key(parts)
        return f"{self.scheme}://{self.authority}/{key}/" if key else f"{self.scheme}://{self.authority}/"
