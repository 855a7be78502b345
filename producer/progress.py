"""Progress of a production run: a live bar on a terminal, plain lines in a log or CI."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["progress_display"]

_PLAIN_EVERY_S = 5.0


@contextmanager
def progress_display(
    mode: str = "auto", total: int | None = None, stream: TextIO | None = None
) -> Iterator[Callable[[int, int, int], None] | None]:
    """A callback taking (produced, delivered, failed), shown as ``mode`` says, or None for ``none``.

    Args:
        mode: ``rich`` (a live bar), ``plain`` (a line every few seconds), ``none``, or ``auto``: rich
            when the output is a terminal, plain otherwise.
        total: the expected number of events, when known (``--count``).
        stream: where to write; standard output by default.
    """
    out = stream or sys.stdout
    if mode == "auto":
        mode = "rich" if out.isatty() else "plain"
    if mode == "none":
        yield None
    elif mode == "rich":
        with Progress(
            TextColumn("producing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>8,.0f} events/s  delivered {task.fields[delivered]:,}"),
            TextColumn("[red]{task.fields[failed_text]}"),
            TimeElapsedColumn(),
            console=Console(file=out),
            transient=False,
        ) as bar:
            task = bar.add_task("produce", total=total, rate=0.0, delivered=0, failed_text="")
            began = time.monotonic()

            def update(produced: int, delivered: int, failed: int) -> None:
                rate = produced / max(1e-9, time.monotonic() - began)
                failed_text = f"failed {failed:,}" if failed else ""
                bar.update(task, completed=produced, rate=rate, delivered=delivered, failed_text=failed_text)

            yield update
    else:
        began = time.monotonic()
        last = [began]

        def line(produced: int, delivered: int, failed: int) -> None:
            now = time.monotonic()
            if now - last[0] < _PLAIN_EVERY_S:
                return
            last[0] = now
            of = f"/{total}" if total is not None else ""
            rate = produced / max(1e-9, now - began)
            print(
                f"produced {produced}{of} events ({rate:,.0f}/s), delivered {delivered}, failed {failed}",
                file=out,
                flush=True,
            )

        yield line
