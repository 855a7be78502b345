"""The job's progress watcher: each batch logged once, none missed, its end offsets to the monitoring group."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pyspark.sql.streaming.listener import StreamingQueryProgress

from streaming.listener import ProgressWatcher
from streaming.monitor import partition_offsets


def _progress(batch: int, rows: int, end: dict[int, int]) -> StreamingQueryProgress:
    return StreamingQueryProgress.fromJson({
        "id": "00000000-0000-0000-0000-000000000001", "runId": "00000000-0000-0000-0000-000000000002",
        "name": "t_gps", "timestamp": "2026-11-30T08:00:00.000Z", "batchId": batch, "batchDuration": 10,
        "durationMs": {"addBatch": 7, "triggerExecution": 10}, "eventTime": {}, "stateOperators": [],
        "numInputRows": rows, "inputRowsPerSecond": 0.0, "processedRowsPerSecond": 0.0, "observedMetrics": {},
        "sink": {"description": "ForeachBatchSink", "numOutputRows": -1, "metrics": {}},
        "sources": [{
            "description": "KafkaV1[Subscribe[t_gps_data]]", "startOffset": None,
            "endOffset": {"t_gps_data": {str(p): o for p, o in end.items()}}, "latestOffset": None,
            "numInputRows": rows, "inputRowsPerSecond": 0.0, "processedRowsPerSecond": 0.0, "metrics": {},
        }],
    })  # fmt: skip


class _Query:
    """What the watcher reads of a query: PySpark's own progress objects, newest last."""

    def __init__(self) -> None:
        self.history: list[StreamingQueryProgress] = []
        self.recent_reads = 0

    @property
    def lastProgress(self) -> StreamingQueryProgress | None:
        return self.history[-1] if self.history else None

    @property
    def recentProgress(self) -> list[StreamingQueryProgress]:
        self.recent_reads += 1
        return list(self.history)


class _Monitor:
    def __init__(self) -> None:
        self.committed: list[Any] = []

    def commit(self, end_offsets: Any) -> None:
        self.committed.append(end_offsets)


class _Watched:
    """One query under a watcher that commits to a recording monitor."""

    def __init__(self) -> None:
        self.query, self.monitor = _Query(), _Monitor()
        self._watcher = ProgressWatcher(self.monitor)  # type: ignore[arg-type]

    def poll(self) -> None:
        self._watcher.poll({"t_gps": self.query})  # type: ignore[dict-item]


def _batches_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage().split(":")[0] for r in caplog.records if " batch " in r.getMessage()]


def test_each_batch_is_logged_once_and_its_end_offsets_reach_the_monitoring_group(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """PySpark keeps a source's endOffset as a dict's repr, not JSON: the watcher reads the progress's JSON."""
    caplog.set_level(logging.INFO, logger="streaming.progress")
    watched = _Watched()
    watched.poll()
    assert watched.monitor.committed == [] and _batches_logged(caplog) == []
    watched.query.history.append(_progress(0, 5, {0: 3, 2: 2}))
    watched.poll()
    watched.poll()
    assert _batches_logged(caplog) == ["t_gps batch 0"]
    assert [(p.topic, p.partition, p.offset) for p in partition_offsets(watched.monitor.committed[-1])] == [
        ("t_gps_data", 0, 3),
        ("t_gps_data", 2, 2),
    ]
    assert watched.query.recent_reads == 0


def test_batches_that_ended_between_two_polls_are_logged_in_order_from_the_recent_progress(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="streaming.progress")
    watched = _Watched()
    watched.query.history.append(_progress(4, 1, {0: 1}))
    watched.poll()
    watched.query.history += [_progress(5, 2, {0: 3}), _progress(6, 0, {0: 3}), _progress(7, 4, {0: 7})]
    watched.poll()
    # Batch 6 read nothing: no lines for it, as for any empty batch.
    assert _batches_logged(caplog) == ["t_gps batch 4", "t_gps batch 5", "t_gps batch 7"]
    assert [p.offset for p in partition_offsets(watched.monitor.committed[-1])] == [7]
    assert watched.query.recent_reads == 1
