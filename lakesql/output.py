"""Query results as aligned text tables, for ``make query`` and the demo."""

from __future__ import annotations

import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

from lakesql.engine import QueryResult

__all__ = ["format_result", "print_result"]


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e15 else repr(value)
    return str(value)


def format_result(result: QueryResult, title: str, *, limit: int = 50, max_width: int = 40) -> str:
    """A result as an aligned text table under its title, at most ``limit`` rows, with the row count."""
    shown = [[_clip(_cell(v), max_width) for v in row] for row in result.rows[:limit]]
    header = list(result.columns)
    widths = [max([len(h), *(len(r[i]) for r in shown)]) for i, h in enumerate(header)]
    numeric = [bool(shown) and all(_is_number(r[i]) for r in shown) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = (c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cells, widths, numeric, strict=True))
        return "| " + " | ".join(padded) + " |"

    rule = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    count = len(result.rows)
    more = f", showing the first {limit}" if count > limit else ""
    lines = [title, rule, line(header), rule, *(line(r) for r in shown), rule]
    lines.append(f"{count} row{'s' if count != 1 else ''}{more}")
    return "\n".join(lines) + "\n"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text == "NULL"
    return True


def print_result(result: QueryResult, title: str, *, limit: int = 50, out: TextIO | None = None) -> None:
    """Print :func:`format_result` to ``out`` (standard output by default), then a blank line."""
    stream = out or sys.stdout
    stream.write(format_result(result, title, limit=limit) + "\n")
    stream.flush()
