"""The Confluent wire format: magic byte 0, a 4-byte big-endian schema id, then the Avro body.

Pure functions, no I/O: the producer frames with them and tests and tools parse with them.
"""

from __future__ import annotations

import struct

from core.errors import SerializationError

__all__ = ["HEADER_SIZE", "MAGIC_BYTE", "frame", "parse_header"]

MAGIC_BYTE = 0
HEADER_SIZE = 5
_HEADER = struct.Struct(">bI")


def frame(schema_id: int, body: bytes) -> bytes:
    """Prefix an Avro binary body with the Confluent header for ``schema_id``."""
    if not 0 <= schema_id < 2**32:
        msg = f"schema id must fit in 4 unsigned bytes, got {schema_id}"
        raise SerializationError(msg)
    return _HEADER.pack(MAGIC_BYTE, schema_id) + body


def parse_header(message: bytes) -> tuple[int, bytes]:
    """Split a Confluent-framed message into (schema id, Avro body).

    Raises:
        SerializationError: the message is shorter than the header or its magic byte is not 0.
    """
    if len(message) < HEADER_SIZE:
        msg = f"message of {len(message)} bytes is shorter than the {HEADER_SIZE}-byte Confluent header"
        raise SerializationError(msg)
    magic, schema_id = _HEADER.unpack_from(message)
    if magic != MAGIC_BYTE:
        msg = f"magic byte is {magic}, expected {MAGIC_BYTE}: not Confluent wire format"
        raise SerializationError(msg)
    return schema_id, message[HEADER_SIZE:]
