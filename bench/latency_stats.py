"""Pure analysis for bench/latency_bench.py: percentiles, whether a lag series stays bounded, the job's log.

No I/O here, so that tests/unit/test_latency_stats.py can check it without a stack.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "BatchTiming",
    "LagTrend",
    "lag_trend",
    "parse_job_log",
    "percentile",
    "snapshot_batch",
    "snapshot_ids",
]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolated linearly between closest ranks.

    Raises:
        ValueError: no values, or ``q`` outside 0-100.
    """
    if not values:
        msg = "percentile of no values"
        raise ValueError(msg)
    if not 0 <= q <= 100:
        msg = f"percentile must be between 0 and 100, got {q}"
        raise ValueError(msg)
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class LagTrend:
    """How far behind the job was over a run, from (seconds, offsets behind) samples.

    Attributes:
        max_lag: the most offsets behind seen.
        final_lag: offsets behind at the last sample.
        growth: least-squares slope of the per-window peaks, offsets per second (positive: falling behind).
        bounded: the peaks grew by less than ``tolerance`` of the production rate per second.
    """

    max_lag: int
    final_lag: int
    growth: float
    bounded: bool


def lag_trend(samples: Sequence[tuple[float, int]], rate: float, window: float, tolerance: float = 0.05) -> LagTrend:
    """Whether the lag stays bounded while events arrive at ``rate`` per second.

    Between two batches the lag climbs by the rate times the trigger interval and drops at each
    commit, so single samples say little. The series is cut into windows of ``window`` seconds (a few
    trigger intervals); a job that keeps up has peaks that stay level, one that falls behind has peaks
    that climb at the rate it misses.

    Raises:
        ValueError: no samples.
    """
    if not samples:
        msg = "no lag samples"
        raise ValueError(msg)
    start = samples[0][0]
    peaks: dict[int, tuple[float, int]] = {}
    for at, lag in samples:
        key = int((at - start) // window)
        if key not in peaks or lag > peaks[key][1]:
            peaks[key] = (at, lag)
    points = list(peaks.values())
    if len(points) < 2:
        growth = 0.0
    else:
        mean_t = sum(t for t, _ in points) / len(points)
        mean_l = sum(lag for _, lag in points) / len(points)
        spread = sum((t - mean_t) ** 2 for t, _ in points)
        growth = sum((t - mean_t) * (lag - mean_l) for t, lag in points) / spread if spread else 0.0
    return LagTrend(
        max_lag=max(lag for _, lag in samples),
        final_lag=samples[-1][1],
        growth=growth,
        bounded=growth <= tolerance * rate,
    )


def snapshot_ids(metadata: Mapping[str, Any]) -> list[int]:
    """The ids of the snapshots an Iceberg table metadata file (its parsed JSON) lists, oldest first."""
    return [int(snapshot["snapshot-id"]) for snapshot in metadata.get("snapshots") or ()]


def snapshot_batch(summary: Mapping[str, str] | None, key: str) -> int | None:
    """The micro-batch id a snapshot's summary records under ``key``, or None (maintenance, or no batch).

    The job records its checkpoint's query id and the batch id in the summary of every append
    (``streaming.commit``); a maintenance rewrite or an import records no batch.
    """
    value = (summary or {}).get(key)
    if value is None or not value.strip().lstrip("-").isdigit():
        return None
    batch = int(value)
    return batch if batch >= 0 else None


@dataclass(frozen=True)
class BatchTiming:
    """One micro-batch of one query, as the job logged it.

    Attributes:
        started: wall-clock seconds (epoch) at which the trigger fired.
        durations_ms: Spark's phases of the batch (``latestOffset``, ``addBatch``...) and the whole of it
            (``triggerExecution``).
        quarantine_s: seconds the batch spent appending its quarantined records, after its entity table's
            append, if logged (``committed in ... (quarantine X s)``).
        rows: rows of the batch.
    """

    started: float
    durations_ms: dict[str, int]
    rows: int
    quarantine_s: float | None = None


_HEADER = re.compile(r"streaming\.progress: (\S+) batch (\d+): (\d+) rows, .*, (\d+) ms, \d+ offsets behind$")
_TIME = re.compile(r"streaming\.progress:\s+time: (.*) \(trigger at (\S+)\)$")
_PHASE = re.compile(r"(\w+) (\d+) ms")
_COMMIT = re.compile(r"streaming\.job: (\S+) batch (\d+) committed in ([\d.]+) s \(quarantine ([\d.]+) s\)")


def parse_job_log(lines: Iterable[str], prefix: str) -> dict[tuple[str, int], BatchTiming]:
    """Batches of the job's log, by (entity, batch id): when each triggered, its phases, its quarantine's append.

    Reads the ``streaming.progress`` lines of :mod:`streaming.listener` (a header per batch, then
    its ``time:`` line) and the ``committed in`` lines of :mod:`streaming.batch` (logger ``streaming.job``).
    """
    timings: dict[tuple[str, int], BatchTiming] = {}
    commits: dict[tuple[str, int], float] = {}
    current: tuple[tuple[str, int], int, int] | None = None
    for line in lines:
        line = line.rstrip("\n")
        if header := _HEADER.search(line):
            key = (header.group(1).removeprefix(prefix), int(header.group(2)))
            current = (key, int(header.group(3)), int(header.group(4)))
        elif (time_line := _TIME.search(line)) and current is not None:
            key, rows, whole = current
            started = datetime.fromisoformat(time_line.group(2).replace("Z", "+00:00")).timestamp()
            phases = {name: int(ms) for name, ms in _PHASE.findall(time_line.group(1))}
            phases["triggerExecution"] = whole
            timings[key] = BatchTiming(started=started, durations_ms=phases, rows=rows)
            current = None
        elif commit := _COMMIT.search(line):
            commits[(commit.group(1), int(commit.group(2)))] = float(commit.group(4))
    return {key: BatchTiming(t.started, t.durations_ms, t.rows, commits.get(key)) for key, t in timings.items()}
