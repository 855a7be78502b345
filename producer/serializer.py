"""Avro records into Confluent wire format with fastavro, and clear errors for records that do not fit.

Pure: no registry or Kafka calls. The writer schema is the one the registry returned for the id in
the header, parsed once; the hot path is one ``schemaless_writer`` call into a buffer that already
holds the 5-byte header.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from io import BytesIO
from typing import Any

import fastavro
from fastavro.validation import validate

from core.errors import SchemaError, SerializationError
from core.wire import frame

__all__ = ["WireSerializer", "find_mismatch"]


class WireSerializer:
    """Serializes records of one subject with its registered writer schema.

    Not for reading: decoding belongs to the consumer, which must use the writer schema of each
    record's id rather than this one.
    """

    def __init__(self, subject: str, schema_id: int, schema: str | Mapping[str, Any]) -> None:
        """Parse ``schema`` (the registry's text or a dict) once for all records of ``subject``.

        Raises:
            SchemaError: the schema text is not a valid Avro schema.
        """
        self.subject = subject
        self.schema_id = schema_id
        try:
            self.schema: dict[str, Any] = json.loads(schema) if isinstance(schema, str) else dict(schema)
            self.parsed: Any = fastavro.parse_schema(self.schema)
        except Exception as exc:  # fastavro raises several unrelated types for bad schemas
            msg = f"the schema registered as id {schema_id} for subject {subject} is not valid Avro: {exc}"
            raise SchemaError(msg) from exc
        self._header = frame(schema_id, b"")

    def serialize(self, record: Mapping[str, Any]) -> bytes:
        """The record as magic byte, schema id and Avro body.

        Raises:
            SerializationError: the record does not match the schema; the message names the field path.
        """
        buffer = BytesIO()
        buffer.write(self._header)
        try:
            fastavro.schemaless_writer(buffer, self.parsed, record, strict_allow_default=True)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            problem = find_mismatch(record, self.schema)
            where = f"at field {problem}" if problem else f"({type(exc).__name__}: {exc})"
            msg = (
                f"record does not match schema id {self.schema_id} of subject {self.subject} {where}; "
                "do schemas/ and the registry agree? see `make schema-check`"
            )
            raise SerializationError(msg) from exc
        return buffer.getvalue()


def find_mismatch(datum: Any, schema: Any) -> str | None:
    """The first place where ``datum`` does not fit ``schema``, as ``field.path: what is wrong``; None if it fits."""
    return _problem(datum, schema, "", _named_types(schema, {}))


def _named_types(schema: Any, names: dict[str, Any], namespace: str = "") -> dict[str, Any]:
    if isinstance(schema, list):
        for branch in schema:
            _named_types(branch, names, namespace)
    elif isinstance(schema, dict) and schema.get("type") in ("record", "enum", "fixed"):
        space = schema.get("namespace", namespace)
        name = schema["name"] if "." in schema["name"] or not space else f"{space}.{schema['name']}"
        names[name] = names[schema["name"].rsplit(".", 1)[-1]] = schema
        for f in schema.get("fields", ()):
            _named_types(f["type"], names, space)
    elif isinstance(schema, dict) and isinstance(schema.get("type"), dict | list):
        _named_types(schema["type"], names, namespace)
    return names


def _expand(schema: Any, names: dict[str, Any], depth: int = 0) -> Any:
    """``schema`` with named-type references replaced by their definitions (so it validates on its own)."""
    if depth > 20:
        return schema
    if isinstance(schema, str):
        return _expand(names[schema], names, depth + 1) if schema in names else schema
    if isinstance(schema, list):
        return [_expand(s, names, depth + 1) for s in schema]
    if isinstance(schema, dict) and schema.get("type") == "record":
        fields = [{**f, "type": _expand(f["type"], names, depth + 1)} for f in schema["fields"]]
        return {**schema, "fields": fields}
    return schema


def _describe(schema: Any) -> str:
    if isinstance(schema, list):
        return " or ".join(_describe(s) for s in schema)
    if isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "enum":
            return f"enum {schema['name']} ({', '.join(schema['symbols'])})"
        if kind in ("record", "fixed"):
            return f"{kind} {schema['name']}"
        if "logicalType" in schema:
            return f"{_describe(kind)} ({schema['logicalType']})"
        return _describe(kind)
    return str(schema)


def _problem(datum: Any, schema: Any, path: str, names: dict[str, Any]) -> str | None:
    schema = names.get(schema, schema) if isinstance(schema, str) else schema
    if isinstance(schema, dict) and schema.get("type") == "record":
        where = path or "the record"
        if not isinstance(datum, Mapping):
            return f"{where}: expected a record {schema['name']}, got {type(datum).__name__}"
        fields = schema["fields"]
        extra = sorted(set(datum) - {f["name"] for f in fields})
        if extra:
            return f"{path + '.' if path else ''}{extra[0]}: not a field of the schema"
        for f in fields:
            sub = f"{path}.{f['name']}" if path else f["name"]
            if f["name"] not in datum:
                if "default" in f:
                    continue
                return f"{sub}: missing, and the schema gives no default"
            problem = _problem(datum[f["name"]], f["type"], sub, names)
            if problem:
                return problem
        return None
    if validate(datum, _expand(schema, names), raise_errors=False):
        return None
    return f"{path or 'the record'}: {datum!r:.60} ({type(datum).__name__}) is not {_describe(schema)}"
