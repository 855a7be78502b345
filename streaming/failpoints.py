"""Failpoints: named places in a batch's commits where the faults suite stops the job on purpose.

``TELEMETRY_FAILPOINT=<point>:<query>:<batch>`` makes the job log ``failpoint <point> reached`` when
query ``<query>`` reaches ``<point>`` in batch ``<batch>``, then wait there until it is killed; the
faults suite kills the driver at that moment (SIGKILL) and checks that the restart replays the batch.
The points: ``write`` (the batch is planned, nothing committed), ``commit`` (the entity table's commit
is done, the quarantine's not yet), ``committed`` (every table committed, and Spark has not yet recorded
the batch as done). Unset, a failpoint costs one comparison. Never set it in production.
"""

from __future__ import annotations

import logging
import os
import time

__all__ = ["POINTS", "failpoint"]

log = logging.getLogger(__name__)

POINTS = ("write", "commit", "committed")


def failpoint(point: str, query: str, batch_id: int | str) -> None:
    """Wait here forever when ``TELEMETRY_FAILPOINT`` names this point, query and batch (or table and dt)."""
    if os.environ.get("TELEMETRY_FAILPOINT") != f"{point}:{query}:{batch_id}":
        return
    log.warning("failpoint %s reached: %s batch %s; waiting to be killed", point, query, batch_id)
    while True:
        time.sleep(3600)
