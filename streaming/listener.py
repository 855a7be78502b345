"""Progress of the streaming queries: a log line per micro-batch and per topic.

Per batch: input rows/s (arrival rate), processed rows/s, batch duration and how many offsets the
job is behind the end of the topics (the source's latest offsets minus the batch's end offsets).
Per topic the same, computed from the batch's start and end offsets. Then where the batch's time
went, in Spark's phases (``addBatch`` is the job's decode, write and commit), and when it triggered.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from typing import Any

from pyspark.sql.streaming import StreamingQueryListener

from streaming.monitor import OffsetsMonitor

__all__ = ["PHASES", "ProgressListener", "progress_lines", "topic_offsets"]

log = logging.getLogger("streaming.progress")

PHASES = ("latestOffset", "walCommit", "getBatch", "queryPlanning", "addBatch", "commitOffsets")
"""Spark's phases of a micro-batch, in the order they run (``StreamingQueryProgress.durationMs``)."""


def topic_offsets(offsets: Any) -> dict[str, int]:
    """Sum a Kafka source offset object (``{"topic": {"0": 12, ...}}`` or its JSON text) per topic."""
    if offsets in (None, "", "null"):
        return {}
    data = json.loads(offsets) if isinstance(offsets, str) else offsets
    if not isinstance(data, Mapping):
        return {}
    return {str(t): sum(int(o) for o in parts.values()) for t, parts in data.items() if isinstance(parts, Mapping)}


def _rate(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number else 0.0  # NaN (no previous trigger) reads as 0


def progress_lines(progress: Mapping[str, Any]) -> list[str]:
    """Readable lines for one ``StreamingQueryProgress`` (as parsed from its JSON)."""
    rows = int(progress.get("numInputRows") or 0)
    input_rate = _rate(progress.get("inputRowsPerSecond"))
    processed_rate = _rate(progress.get("processedRowsPerSecond"))
    duration_ms = int((progress.get("durationMs") or {}).get("triggerExecution") or progress.get("batchDuration") or 0)
    per_topic: dict[str, tuple[int | None, int]] = {}
    for source in progress.get("sources") or []:
        start = topic_offsets(source.get("startOffset"))
        end = topic_offsets(source.get("endOffset"))
        latest = topic_offsets(source.get("latestOffset"))
        for topic in sorted(set(end) | set(latest)):
            count = end.get(topic, 0) - start[topic] if topic in start else None
            per_topic[topic] = (count, max(latest.get(topic, 0) - end.get(topic, 0), 0))
    behind = sum(b for _, b in per_topic.values())
    name = f"{progress['name']} " if progress.get("name") else ""
    lines = [
        f"{name}batch {progress.get('batchId')}: {rows} rows, input {input_rate:.1f} rows/s, "
        f"processed {processed_rate:.1f} rows/s, {duration_ms} ms, {behind} offsets behind"
    ]
    seconds = duration_ms / 1000
    for topic, (count, lag) in per_topic.items():
        if count is None:
            lines.append(f"  {topic}: {lag} offsets behind (first batch: no start offsets)")
            continue
        share = count / rows if rows else 0.0
        processed = count / seconds if seconds else 0.0
        lines.append(
            f"  {topic}: {count} rows, input {input_rate * share:.1f} rows/s, "
            f"processed {processed:.1f} rows/s, {lag} offsets behind"
        )
    durations = progress.get("durationMs") or {}
    phases = [f"{phase} {int(durations[phase])} ms" for phase in PHASES if phase in durations]
    if phases:
        lines.append(f"  time: {', '.join(phases)} (trigger at {progress.get('timestamp')})")
    return lines


class ProgressListener(StreamingQueryListener):
    """Logs :func:`progress_lines` after every micro-batch of the job's queries (all queries: no names).

    With a ``monitor``, each batch's end offsets also go to the job's monitoring consumer group.
    """

    def __init__(self, query_names: Collection[str] = (), monitor: OffsetsMonitor | None = None) -> None:
        super().__init__()
        self._names = frozenset(query_names)
        self._monitor = monitor

    def _mine(self, name: str | None) -> bool:
        return not self._names or name in self._names

    def onQueryStarted(self, event: Any) -> None:
        """Log the start."""
        if self._mine(event.name):
            log.info("query %s started (id %s, run %s)", event.name, event.id, event.runId)

    def onQueryProgress(self, event: Any) -> None:
        """Log a batch's figures."""
        progress = json.loads(event.progress.json)
        if not self._mine(progress.get("name")):
            return
        if self._monitor is not None:
            for source in progress.get("sources") or []:
                self._monitor.commit(source.get("endOffset"))
        if not progress.get("numInputRows"):
            return
        for line in progress_lines(progress):
            log.info("%s", line)

    def onQueryIdle(self, event: Any) -> None:
        """Nothing to log while waiting for data."""

    def onQueryTerminated(self, event: Any) -> None:
        """Log the end, with the failure if any."""
        if event.exception:
            # A failed batch logs its own reason; py4j's wrapper would add "Return Message: Traceback..." here.
            log.error(
                "query %s failed: %s", event.id, str(event.exception).splitlines()[0].split(" Return Message:")[0]
            )
        else:
            log.info("query %s stopped", event.id)
