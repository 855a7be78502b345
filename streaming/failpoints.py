"""Failpoints: named places in the commit protocol where the faults suite stops the job on purpose.

``TELEMETRY_FAILPOINT=<point>:<query>:<batch>`` makes the job log ``failpoint <point> reached`` when
query ``<query>`` reaches ``<point>`` in batch ``<batch>``, then wait there until it is killed; the
faults suite kills the driver at that moment (SIGKILL) and checks that the restart replays the batch.
The points: ``write`` (the batch's files are staged, none moved), ``move`` (the first staged file has
moved into its table, the others not yet), ``committed`` (every file moved, and Spark has not yet
recorded the batch as done).

Compaction (:mod:`streaming.compact`) has its own, named ``compact-<point>:<table>:<dt>``:
``compact-staged`` (outputs written to the journal's folder, no manifest yet), ``compact-journal``
(manifest written, nothing swapped), ``compact-swap`` (the first output is in the table and its
inputs are not deleted yet), ``compact-swapped`` (every output in, every input deleted, the manifest
still there). Unset, a failpoint costs one comparison. Never set it in production.
"""

from __future__ import annotations

import logging
import os
import time

__all__ = ["POINTS", "failpoint"]

log = logging.getLogger(__name__)

POINTS = ("write", "move", "committed", "compact-staged", "compact-journal", "compact-swap", "compact-swapped")


def failpoint(point: str, query: str, batch_id: int | str) -> None:
    """Wait here forever when ``TELEMETRY_FAILPOINT`` names this point, query and batch (or table and dt)."""
    if os.environ.get("TELEMETRY_FAILPOINT") != f"{point}:{query}:{batch_id}":
        return
    log.warning("failpoint %s reached: %s batch %s; waiting to be killed", point, query, batch_id)
    while True:
        time.sleep(3600)
