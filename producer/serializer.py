"""Avro records into Confluent wire format with fastavro, and clear errors for records that do not fit.

Pure: no registry or Kafka calls. The writer schema is the one the registry returned for the id in
the header, parsed once; the hot path is one ``schemaless_writer`` call into a buffer that already
holds the 5-byte header. Only when a record does not fit is the schema model (:mod:`core.avro_model`)
walked, to name the field path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from io import BytesIO
from typing import Any

import fastavro
from fastavro.validation import validate

from core.avro_model import NODE_TYPES, AvroType, Enum, Fixed, Record, Union, parse_schema, to_json
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
            self.model = parse_schema(self.schema).root
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
            problem = find_mismatch(record, self.model)
            where = f"at field {problem}" if problem else f"({type(exc).__name__}: {exc})"
            msg = (
                f"record does not match schema id {self.schema_id} of subject {self.subject} {where}; "
                "do schemas/ and the registry agree? see `make schema-check`"
            )
            raise SerializationError(msg) from exc
        return buffer.getvalue()


def find_mismatch(datum: Any, schema: AvroType | Mapping[str, Any] | str) -> str | None:
    """The first place where ``datum`` does not fit ``schema``, as ``field.path: what is wrong``; None if it fits.

    Args:
        datum: the record (or any value).
        schema: a node of the schema model, or schema JSON (text or parsed).
    """
    node = schema if isinstance(schema, NODE_TYPES) else parse_schema(schema).root
    return _problem(datum, node, "")


def _describe(node: AvroType) -> str:
    if isinstance(node, Union):
        return " or ".join(_describe(b) for b in node.branches)
    if isinstance(node, Enum):
        return f"enum {node.name} ({', '.join(node.symbols)})"
    if isinstance(node, Record | Fixed):
        return f"{node.type} {node.name}"
    if node.logical_type is not None:
        return f"{node.type} ({node.logical_type})"
    return node.type


def _problem(datum: Any, node: AvroType, path: str) -> str | None:
    if isinstance(node, Record):
        where = path or "the record"
        if not isinstance(datum, Mapping):
            return f"{where}: expected a record {node.name}, got {type(datum).__name__}"
        extra = sorted(set(datum) - {f.name for f in node.fields})
        if extra:
            return f"{path + '.' if path else ''}{extra[0]}: not a field of the schema"
        for f in node.fields:
            sub = f"{path}.{f.name}" if path else f.name
            if f.name not in datum:
                if f.has_default:
                    continue
                return f"{sub}: missing, and the schema gives no default"
            problem = _problem(datum[f.name], f.type, sub)
            if problem:
                return problem
        return None
    if validate(datum, to_json(node), raise_errors=False):
        return None
    return f"{path or 'the record'}: {datum!r:.60} ({type(datum).__name__}) is not {_describe(node)}"
