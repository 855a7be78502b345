"""Settings of the streaming job: where the lake and checkpoints are, what to read, how often.

Read from the environment (``TELEMETRY_LAKE``, ``TELEMETRY_CHECKPOINTS``, ``TELEMETRY_SPARK_MASTER``,
``TELEMETRY_SPARK_DRIVER_MEMORY``, ``TELEMETRY_PROJECTION_START``, the lake's Iceberg catalog's
``TELEMETRY_CATALOG``, ``TELEMETRY_CATALOG_DB`` and ``TELEMETRY_GLUE_DATABASE``, the standard ``AWS_*``
variables) with command-line flags winning, validated on load and frozen.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from core.catalog import Catalog, Stream
from core.errors import ConfigError
from core.iceberg import IcebergCatalog
from core.lake import DEFAULT_PROJECTION_START, LakeLocation, projection_start
from core.settings import (
    DEFAULT_DATABASE,
    ConnectionSettings,
    check_known,
    database_name,
    env_str,
    lake_location,
    local_dir,
)

__all__ = ["STARTING_OFFSETS", "StreamingSettings", "lake_uri", "parse_interval"]

STARTING_OFFSETS = ("earliest", "latest")
_INTERVAL = re.compile(r"^\s*(\d+)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hours?)\s*$", re.I)
_UNITS = {"ms": "milliseconds", "s": "seconds", "m": "minutes", "h": "hours"}


def parse_interval(text: str) -> str:
    """Turn ``10s``, ``500ms``, ``2 minutes``... into Spark's processing-time form (``10 seconds``).

    Raises:
        ConfigError: the text is not a positive whole number followed by a unit.
    """
    match = _INTERVAL.match(text)
    if not match or int(match.group(1)) <= 0:
        msg = f"trigger interval must look like 10s, 500ms, 2m or '10 seconds', got {text!r}"
        raise ConfigError(msg)
    unit = match.group(2).lower()
    key = "ms" if unit.startswith("mil") or unit == "ms" else unit[0]
    return f"{int(match.group(1))} {_UNITS[key]}"


def lake_uri(location: str) -> str:
    """A lake or checkpoint location as the Hadoop URI Spark takes (see :meth:`core.lake.LakeLocation.hadoop_uri`).

    ``s3://`` and ``s3n://`` become ``s3a://`` (hadoop-aws only speaks that); a local folder becomes
    ``file://`` and its absolute path, unescaped, as Hadoop reads it.

    Raises:
        ConfigError: an empty location, or an S3 URI with no bucket.
    """
    return LakeLocation.parse(location).hadoop_uri()


@dataclass(frozen=True)
class StreamingSettings:
    """Everything the streaming job needs to know, validated.

    Attributes:
        connection: Kafka and registry addresses, auth and topic prefix.
        lake: root of the lake as a Hadoop URI (``file:///...`` or ``s3a://bucket/prefix``).
        checkpoints: root of the checkpoint folders as a Hadoop URI; each query's checkpoint lives below it.
        starting_offsets: ``earliest`` or ``latest``; only used by a new checkpoint.
        trigger_interval: Spark processing-time interval, e.g. ``10 seconds``.
        available_now: drain what is in Kafka now, then stop (tests, demo, catch-up).
        entities: the entities to stream; empty means all of the catalog's.
        max_offsets_per_trigger: cap on records per micro-batch of each topic's query, or None for no cap.
        spark_master: master URL when not launched by spark-submit (default ``local[2]``).
        driver_memory: driver heap when launched from Python (default ``2g``).
        s3_endpoint: S3-compatible endpoint from ``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``, if any.
        aws_region: ``AWS_REGION``/``AWS_DEFAULT_REGION``, if any.
        projection_start: ``TELEMETRY_PROJECTION_START``, the first event date the lake takes (the catalog's).
        registry_refresh: seconds between look-ups of a subject's versions (see :mod:`streaming.resolver`).
        namespace: the tables' Iceberg namespace (the Glue database).
        catalog_env: ``TELEMETRY_CATALOG``, ``TELEMETRY_CATALOG_DB`` and ``TELEMETRY_HOME`` as read, for
            :meth:`iceberg` (the catalog follows the lake, which a caller may replace).
    """

    connection: ConnectionSettings
    lake: str
    checkpoints: str
    starting_offsets: str = "earliest"
    trigger_interval: str = "10 seconds"
    available_now: bool = False
    entities: tuple[str, ...] = ()
    max_offsets_per_trigger: int | None = None
    spark_master: str = "local[2]"
    driver_memory: str = "2g"
    s3_endpoint: str | None = None
    aws_region: str | None = None
    projection_start: str = DEFAULT_PROJECTION_START
    registry_refresh: float = 30.0
    namespace: str = DEFAULT_DATABASE
    catalog_env: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **flags: Any) -> StreamingSettings:
        """Build from the environment and command-line ``flags`` (a flag given as None is unset).

        Flags: ``lake``, ``checkpoints``, ``starting_offsets``, ``trigger_interval``, ``available_now``,
        ``entities`` (comma-separated text or a sequence), ``topic_prefix``, ``bootstrap_servers``,
        ``registry_url``, ``max_offsets_per_trigger``, ``spark_master``, ``registry_refresh``.
        """
        env = os.environ if env is None else env
        check_known(env)
        connection = ConnectionSettings.from_env(
            env,
            topic_prefix=flags.get("topic_prefix"),
            bootstrap_servers=flags.get("bootstrap_servers"),
            registry_url=flags.get("registry_url"),
        )
        home = local_dir(env)
        entities = flags.get("entities") or ()
        if isinstance(entities, str):
            entities = tuple(e.strip() for e in entities.split(",") if e.strip())
        settings = cls(
            connection=connection,
            lake=lake_location(env, flags.get("lake")).hadoop_uri(),
            checkpoints=lake_uri(
                flags.get("checkpoints") or env_str(env, "TELEMETRY_CHECKPOINTS", str(home / "checkpoints"))
            ),
            starting_offsets=(flags.get("starting_offsets") or "earliest").strip().lower(),
            trigger_interval=parse_interval(flags.get("trigger_interval") or "10s"),
            available_now=bool(flags.get("available_now")),
            entities=tuple(entities),
            max_offsets_per_trigger=flags.get("max_offsets_per_trigger"),
            spark_master=flags.get("spark_master") or env_str(env, "TELEMETRY_SPARK_MASTER", "local[2]"),
            driver_memory=env_str(env, "TELEMETRY_SPARK_DRIVER_MEMORY", "2g"),
            s3_endpoint=env_str(env, "AWS_ENDPOINT_URL_S3", env_str(env, "AWS_ENDPOINT_URL", "")) or None,
            aws_region=env_str(env, "AWS_REGION", env_str(env, "AWS_DEFAULT_REGION", "")) or None,
            projection_start=env_str(env, "TELEMETRY_PROJECTION_START", DEFAULT_PROJECTION_START),
            registry_refresh=30.0 if flags.get("registry_refresh") is None else float(flags["registry_refresh"]),
            namespace=database_name(env),
            catalog_env=tuple(
                (k, env[k]) for k in ("TELEMETRY_CATALOG", "TELEMETRY_CATALOG_DB", "TELEMETRY_HOME") if k in env
            ),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse values the job cannot run with."""
        if self.starting_offsets not in STARTING_OFFSETS:
            msg = f"starting offsets must be one of {', '.join(STARTING_OFFSETS)}, got {self.starting_offsets!r}"
            raise ConfigError(msg)
        if self.max_offsets_per_trigger is not None and self.max_offsets_per_trigger < 1:
            msg = f"max offsets per trigger must be at least 1, got {self.max_offsets_per_trigger}"
            raise ConfigError(msg)
        projection_start(self.projection_start)
        self.iceberg()
        if not 0 < self.registry_refresh <= 3600:
            msg = f"registry refresh must be between 0 and 3600 seconds, got {self.registry_refresh}"
            raise ConfigError(msg)
        if self.s3_endpoint and urlparse(self.s3_endpoint).scheme not in ("http", "https"):
            msg = f"AWS endpoint must be an http(s) URL, got {self.s3_endpoint!r}"
            raise ConfigError(msg)

    def streams(self, catalog: Catalog) -> tuple[Stream, ...]:
        """The catalog's streams this job reads: all, or those named in ``entities`` (unknown names refused)."""
        if not self.entities:
            return catalog.streams
        return tuple(catalog.get(name) for name in dict.fromkeys(self.entities))

    def checkpoint_location(self, name: str) -> str:
        """The checkpoint folder of query ``name``; the job's queries are named after their entities.

        The topic prefix keeps the queries of different prefixes apart.
        """
        return f"{self.checkpoints}/{self.connection.topic_prefix}{name}"

    def iceberg(self) -> IcebergCatalog:
        """The lake's Iceberg catalog (:mod:`core.iceberg`).

        Raises:
            ConfigError: the catalog settings are contradictory.
        """
        env = dict(self.catalog_env)
        home = Path(env["TELEMETRY_HOME"]) if env.get("TELEMETRY_HOME") else local_dir(env)
        # A local lake's Hadoop URI is its path unescaped (see lake_uri): parsing it as a URI would decode "%20".
        local = self.lake.startswith("file://")
        lake = LakeLocation("", "", self.lake.removeprefix("file://")) if local else LakeLocation.parse(self.lake)
        return IcebergCatalog.from_env(lake, self.namespace, env, home)
