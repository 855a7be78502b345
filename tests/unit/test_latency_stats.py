"""The pure parts of the latency benchmark (bench/latency_stats.py): percentiles, lag trend, the job's log."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import pytest

from core.catalog import project_root
from streaming.commit import BATCH_ID, QUERY_ID
from streaming.listener import progress_lines

sys.path.insert(0, str(project_root() / "bench"))  # bench/ is a folder of scripts, not a package
from latency_stats import lag_trend, parse_job_log, percentile, snapshot_batch, snapshot_ids


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0], 99) == 3.0
    assert percentile([2.0, 1.0], 50) == 1.5  # unordered input
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


def _sawtooth(rate: float, trigger: int, seconds: int, missed: float = 0.0) -> list[tuple[float, int]]:
    """Lag sampled each second: it climbs by ``rate`` until a commit every ``trigger`` s; ``missed``/s pile up."""
    return [(float(t), int(rate * (t % trigger) + missed * t)) for t in range(seconds)]


def test_lag_of_a_job_that_keeps_up_is_bounded_however_tall_its_teeth() -> None:
    trend = lag_trend(_sawtooth(5000, 10, 120), rate=5000, window=30)
    assert trend.bounded
    assert trend.max_lag == 45_000
    assert abs(trend.growth) < 250


def test_lag_of_a_job_that_falls_behind_grows() -> None:
    trend = lag_trend(_sawtooth(5000, 5, 120, missed=1000), rate=5000, window=15)
    assert not trend.bounded
    assert trend.growth == pytest.approx(1000, rel=0.05)
    assert trend.final_lag == 5000 * 4 + 1000 * 119


def test_lag_of_one_window_has_no_growth() -> None:
    trend = lag_trend([(0.0, 10), (1.0, 20)], rate=1000, window=10)
    assert (trend.growth, trend.bounded, trend.final_lag) == (0.0, True, 20)
    with pytest.raises(ValueError, match="no lag samples"):
        lag_trend([], rate=1, window=1)


def test_batch_id_comes_back_from_the_snapshot_summary_the_job_records() -> None:
    assert snapshot_batch({QUERY_ID: "q", BATCH_ID: "42", "added-records": "7"}, BATCH_ID) == 42
    assert snapshot_batch({"operation": "replace", "added-data-files": "1"}, BATCH_ID) is None  # maintenance
    assert snapshot_batch(None, BATCH_ID) is None
    assert snapshot_batch({BATCH_ID: "x"}, BATCH_ID) is None
    assert snapshot_batch({BATCH_ID: "-1"}, BATCH_ID) is None


def test_snapshot_ids_are_those_a_metadata_file_lists() -> None:
    metadata = {"format-version": 2, "snapshots": [{"snapshot-id": 11}, {"snapshot-id": 7}]}
    assert snapshot_ids(metadata) == [11, 7]
    assert snapshot_ids({"format-version": 2}) == []  # a table created, nothing committed yet


def test_job_log_gives_each_batchs_trigger_phases_and_commit() -> None:
    progress = {
        "name": "p_vehicle",
        "batchId": 7,
        "numInputRows": 500,
        "timestamp": "2026-11-30T01:02:03.456Z",
        "durationMs": {"latestOffset": 10, "addBatch": 900, "triggerExecution": 1000},
        "sources": [],
    }
    lines = [f"2026-11-30 01:02:04,500 INFO streaming.progress: {text}" for text in progress_lines(progress)]
    lines.insert(
        0, "2026-11-30 01:02:04,400 INFO streaming.job: vehicle batch 7 committed in 0.9 s (quarantine 0.2 s): x"
    )
    lines.append("2026-11-30 01:02:05,000 INFO streaming.progress: p_gps batch 3: 0 rows, no time line follows")
    timings = parse_job_log(lines, prefix="p_")
    assert list(timings) == [("vehicle", 7)]
    timing = timings[("vehicle", 7)]
    assert timing.started == datetime(2026, 11, 30, 1, 2, 3, 456000, tzinfo=UTC).timestamp()
    assert timing.durations_ms == {"latestOffset": 10, "addBatch": 900, "triggerExecution": 1000}
    assert (timing.rows, timing.quarantine_s) == (500, 0.2)
