"""The schema catalog: ``schemas/*.avsc`` and ``schemas/streams.toml``, the single source of truth.

Every stage loads record definitions from here; nothing else spells out a field list.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import fastavro

from core.avro_model import Record, parse_schema
from core.errors import SchemaError

__all__ = ["COMPATIBILITY_LEVELS", "Catalog", "Stream", "load_catalog", "project_root", "schemas_dir"]

COMPATIBILITY_LEVELS = frozenset(
    {
        "NONE",
        "BACKWARD",
        "BACKWARD_TRANSITIVE",
        "FORWARD",
        "FORWARD_TRANSITIVE",
        "FULL",
        "FULL_TRANSITIVE",
    }
)
_STREAM_KEYS = frozenset(
    {"topic", "schema", "subject", "key", "partitions", "compatibility", "replication_factor", "min_insync_replicas"}
)


def project_root() -> Path:
    """The repository's top folder (the one holding ``schemas/``)."""
    return Path(__file__).resolve().parent.parent


def schemas_dir() -> Path:
    """Where the schemas live: ``TELEMETRY_SCHEMAS_DIR`` or ``<project>/schemas``."""
    override = os.environ.get("TELEMETRY_SCHEMAS_DIR")
    return Path(override) if override else project_root() / "schemas"


@dataclass(frozen=True)
class Stream:
    """One entity's stream: its topic, registry subject, key field and schema.

    Attributes:
        name: the entity, also the lake table and Glue table name (``vehicle``).
        topic: the Kafka topic (``vehicle_data``).
        subject: the registry subject, ``<topic>-value`` by TopicNameStrategy.
        schema_path: the .avsc file.
        schema: the schema as parsed JSON (a dict), exactly as in the file.
        key_field: the record field whose value is the Kafka key.
        partitions: partitions of the topic (at least; a topic's partitions can be raised, never lowered).
        compatibility: the subject's compatibility level in the registry.
    """

    name: str
    topic: str
    subject: str
    schema_path: Path
    schema: dict[str, Any]
    key_field: str
    partitions: int
    compatibility: str
    replication_factor: int = 3
    min_insync_replicas: int = 2

    @cached_property
    def schema_str(self) -> str:
        """The schema as compact canonical-ish JSON text, as registered."""
        return json.dumps(self.schema, separators=(",", ":"), ensure_ascii=False)

    @cached_property
    def model(self) -> Record:
        """The schema as the model every stage reads (:mod:`core.avro_model`), named types resolved."""
        return parse_schema(self.schema, what=str(self.schema_path)).record

    @cached_property
    def parsed(self) -> dict[str, Any]:
        """The fastavro-parsed schema; parse once, serialize many times."""
        return cast("dict[str, Any]", fastavro.parse_schema(self.schema))

    @property
    def field_names(self) -> list[str]:
        """Top-level field names in schema order."""
        return [f.name for f in self.model.fields]


@dataclass(frozen=True)
class Catalog:
    """All streams of the platform, in the order ``streams.toml`` declares them."""

    root: Path
    streams: tuple[Stream, ...]

    def get(self, name: str) -> Stream:
        """The stream of entity ``name``; a clear error lists the known ones."""
        for stream in self.streams:
            if name in (stream.name, stream.topic):
                return stream
        known = ", ".join(s.name for s in self.streams)
        msg = f"no stream named {name!r} in {self.root / 'streams.toml'}; known: {known}"
        raise SchemaError(msg)

    @property
    def names(self) -> list[str]:
        """Entity names, in declaration order."""
        return [s.name for s in self.streams]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        msg = f"schema file {path} does not exist; streams.toml names it"
        raise SchemaError(msg) from exc
    except json.JSONDecodeError as exc:
        msg = f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise SchemaError(msg) from exc
    if not isinstance(data, dict) or data.get("type") != "record":
        msg = f"{path}: the top-level schema must be an Avro record"
        raise SchemaError(msg)
    return data


def load_schema_file(path: Path) -> dict[str, Any]:
    """Read and parse one .avsc file; raise SchemaError naming the file on any problem."""
    data = _read_json(path)
    try:
        fastavro.parse_schema(data)
    except Exception as exc:  # fastavro raises several unrelated types for bad schemas
        msg = f"{path}: not a valid Avro schema: {exc}"
        raise SchemaError(msg) from exc
    return data


def load_catalog(root: Path | None = None) -> Catalog:
    """Load ``streams.toml`` and every schema it names.

    Args:
        root: the schemas folder; default :func:`schemas_dir`.

    Raises:
        SchemaError: the mapping or a schema is missing, malformed or inconsistent.
    """
    root = root or schemas_dir()
    mapping_path = root / "streams.toml"
    try:
        mapping = tomllib.loads(mapping_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        msg = f"{mapping_path} does not exist"
        raise SchemaError(msg) from exc
    except tomllib.TOMLDecodeError as exc:
        msg = f"{mapping_path}: {exc}"
        raise SchemaError(msg) from exc
    defaults = mapping.get("defaults", {})
    declared = mapping.get("streams", {})
    if not declared:
        msg = f"{mapping_path} declares no [streams.<entity>] table"
        raise SchemaError(msg)
    streams = [_stream(root, name, {**defaults, **spec}) for name, spec in declared.items()]
    topics = [s.topic for s in streams]
    if len(set(topics)) != len(topics):
        msg = f"{mapping_path}: two streams share a topic: {topics}"
        raise SchemaError(msg)
    return Catalog(root=root, streams=tuple(streams))


def _stream(root: Path, name: str, spec: dict[str, Any]) -> Stream:
    where = f"{root / 'streams.toml'} [streams.{name}]"
    unknown = set(spec) - _STREAM_KEYS
    if unknown:
        msg = f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_STREAM_KEYS)}"
        raise SchemaError(msg)
    for required in ("topic", "schema"):
        if required not in spec:
            msg = f"{where}: missing {required!r}"
            raise SchemaError(msg)
    compatibility = str(spec.get("compatibility", "BACKWARD_TRANSITIVE")).upper()
    if compatibility not in COMPATIBILITY_LEVELS:
        msg = f"{where}: compatibility {compatibility!r} is not one of {sorted(COMPATIBILITY_LEVELS)}"
        raise SchemaError(msg)
    schema_path = root / spec["schema"]
    schema = load_schema_file(schema_path)
    key_field = spec.get("key", "vehicle_id")
    if parse_schema(schema, what=str(schema_path)).record.field(key_field) is None:
        msg = f"{where}: key field {key_field!r} is not a field of {schema_path.name}"
        raise SchemaError(msg)
    partitions = int(spec.get("partitions", 3))
    if partitions < 1:
        msg = f"{where}: partitions must be at least 1, got {partitions}"
        raise SchemaError(msg)
    replication_factor = int(spec.get("replication_factor", 3))
    min_insync_replicas = int(spec.get("min_insync_replicas", 2))
    if not 1 <= min_insync_replicas <= replication_factor:
        msg = (
            f"{where}: min_insync_replicas must be between 1 and replication_factor ({replication_factor}), "
            f"got {min_insync_replicas}"
        )
        raise SchemaError(msg)
    return Stream(
        name=name,
        topic=spec["topic"],
        subject=spec.get("subject", f"{spec['topic']}-value"),
        schema_path=schema_path,
        schema=schema,
        key_field=key_field,
        partitions=partitions,
        compatibility=compatibility,
        replication_factor=replication_factor,
        min_insync_replicas=min_insync_replicas,
    )
