"""Progress of the streaming queries: a log line per micro-batch and per topic.

Per batch: input rows/s (arrival rate), processed rows/s, batch duration and how many offsets the
job is behind the end of the topics (the source's latest offsets minus the batch's end offsets).
Per topic the same, computed from the batch's start and end offsets. Then where the batch's time
went, in Spark's phases (``addBatch`` is the job's decode, write and commit), and when it triggered.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from streaming.monitor import OffsetsMonitor

if TYPE_CHECKING:
    from pyspark.sql.streaming import StreamingQuery

__all__ = ["PHASES", "ProgressWatcher", "progress_lines", "topic_offsets"]

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


class ProgressWatcher:
    """Logs :func:`progress_lines` after every micro-batch of the job's queries, and commits its end offsets.

    The job calls :meth:`poll` a few times a second, and once more after the queries stop. Each call
    reads every query's last progress (one call to the JVM and its JSON) and handles the batches it
    has not handled yet; a batch that ended between two polls comes from the query's recent progress.
    With a ``monitor``, the newest end offsets go to the job's monitoring consumer group.

    Why polling and not a ``StreamingQueryListener``: PySpark hands a Python listener each event by
    calling the JVM for every field of the progress, and for its observed metrics through py4j's
    class look-ups; at a 1 s trigger that took about a tenth of the driver's CPU (docs/benchmarks.md,
    "Latency: where the time goes").
    """

    def __init__(self, monitor: OffsetsMonitor | None = None) -> None:
        self._monitor = monitor
        self._handled: dict[str, int] = {}

    def poll(self, queries: Mapping[str, StreamingQuery]) -> None:
        """Handle the batches the queries finished since the last call."""
        for name, query in queries.items():
            last = query.lastProgress
            if last is None:
                continue
            batch = int(last.batchId)
            handled = self._handled.get(name)
            if handled is not None and batch <= handled:
                continue
            # A new batch: read its JSON, as PySpark's objects keep a source's endOffset as a dict's repr.
            progress: dict[str, Any] = json.loads(last.json)
            missed: list[dict[str, Any]] = []
            if handled is not None and batch > handled + 1:
                recent = (json.loads(p.json) for p in query.recentProgress)
                missed = [p for p in recent if handled < int(p.get("batchId", -1)) < batch]
            self._handled[name] = batch
            for each in [*missed, progress]:
                if each.get("numInputRows"):
                    for line in progress_lines(each):
                        log.info("%s", line)
            if self._monitor is not None:
                for source in progress.get("sources") or []:
                    self._monitor.commit(source.get("endOffset"))
