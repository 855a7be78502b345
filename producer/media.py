"""A small, valid, generated PNG that stands in for a traffic-camera snapshot."""

from __future__ import annotations

import random
import struct
import zlib

__all__ = ["PNG_MEDIA_TYPE", "PNG_SIGNATURE", "dummy_png"]

PNG_MEDIA_TYPE = "image/png"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def dummy_png(rng: random.Random, *, width: int = 64, height: int = 48, shade: int = 0) -> bytes:
    """A ``width`` x ``height`` RGB PNG: a sky-to-road gradient with a noisy "traffic" band.

    The noise comes from ``rng``, so the image is deterministic for a seeded generator, and it keeps
    the image a few kilobytes after compression, as a real (tiny) snapshot would be.

    Args:
        rng: the source of the noise.
        width: pixels per row.
        height: rows.
        shade: 0-255, shifts the colours (e.g. darker at night).
    """
    band_top, band_bottom = height // 2, height // 2 + height // 4
    rows = []
    for y in range(height):
        if band_top <= y < band_bottom:
            pixels = rng.randbytes(3 * width)
        else:
            level = (y * 255 // max(1, height - 1) + shade) % 256
            pixels = bytes((level, (level + 40) % 256, (200 - level) % 256)) * width
        rows.append(b"\x00" + pixels)  # filter type 0 (None) for every scanline
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
        + _chunk(b"IEND", b"")
    )
