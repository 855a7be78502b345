"""The "## Latency" section of docs/benchmarks.md from bench/latency_bench.py's phases."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from statistics import fmean
from typing import Any

from latency_stats import percentile
from provenance import measured_commit

TARGET_RATE = 5000.0
_SETUP = ("latestOffset", "walCommit", "getBatch", "queryPlanning")


def keeps_up(phase: Any) -> bool:
    """Lag peaks level while producing, and nothing left behind shortly after."""
    return bool(phase.lag) and phase.trend.bounded and phase.drain_s is not None


def sent_rate(phase: Any) -> float:
    """Events/s the producer actually sent during the measured seconds."""
    seconds = phase.produced.get("seconds") or 0.0
    return phase.produced.get("measured", 0.0) / seconds if seconds else 0.0


def _p(values: Sequence[float], q: float) -> str:
    return f"{percentile(values, q):.2f}" if values else "-"


def _mean(values: Sequence[float]) -> str:
    return f"{fmean(values):.2f}" if values else "-"


def _batch_mean(phase: Any, *keys: str) -> str:
    values = [sum(b.get(k, 0.0) for k in keys) / 1000 for b in phase.batches]
    return _mean(values)


def latency_row(phase: Any) -> str:
    """A row of the main table."""
    trend = phase.trend if phase.lag else None
    drained = f"{phase.drain_s:.1f}" if phase.drain_s is not None else "no"
    ratio = f"{percentile(phase.latencies, 95) / phase.trigger:.1f}x" if phase.latencies else "-"
    samples = f"{len(phase.latencies):,}" + (f" ({phase.missing} lost)" if phase.missing else "")
    return (
        f"| {phase.rate:,.0f} | {sent_rate(phase):,.0f} | {phase.trigger} s | {samples} | {_p(phase.latencies, 50)} | "
        f"{_p(phase.latencies, 95)} | {_p(phase.latencies, 99)} | {ratio} | "
        f"{trend.max_lag if trend else 0:,} | {trend.growth if trend else 0:+,.0f} | {drained} | "
        f"{'yes' if keeps_up(phase) else '**no**'} |"
    )


def time_row(phase: Any) -> str:
    """A row of the where-the-time-goes table (means, seconds)."""
    rows = fmean(b["rows"] for b in phase.batches) if phase.batches else 0.0
    return (
        f"| {phase.rate:,.0f} | {phase.trigger} s | {_mean(phase.latencies)} | {_mean(phase.waits)} | "
        f"{_mean(phase.batch_parts)} | {_batch_mean(phase, *_SETUP)} | {_batch_mean(phase, 'addBatch')} | "
        f"{_batch_mean(phase, 'quarantine_ms')} | {_batch_mean(phase, 'commitOffsets')} | "
        f"{_batch_mean(phase, 'triggerExecution')} | {len(phase.batches)} | {rows:,.0f} |"
    )


_HEAD = [
    "| events/s asked | events/s sent | trigger | samples | p50 s | p95 s | p99 s | p95 / trigger | max lag "
    "| lag growth /s | drained in s | keeps up |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
]
_TIME_HEAD = [
    "| events/s | trigger | latency | wait for its batch to trigger | trigger to readable | offsets and planning "
    "| addBatch | of which the quarantine's append | commitOffsets | whole batch | batches | rows per batch |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]


def render(
    phases: Sequence[Any],
    *,
    brief: bool = False,
    command: str = "",
    seconds: float = 0.0,
    warmup: float = 0.0,
    load: tuple[tuple[float, ...], tuple[float, ...]] | None = None,
) -> str:
    """The section (or, ``brief``, one phase's row of each table for the console)."""
    if brief:
        return "\n".join([*_HEAD[:1], *(latency_row(p) for p in phases), *_TIME_HEAD[:1], *map(time_row, phases)])
    start, end = load or ((0.0,) * 3, (0.0,) * 3)
    lines = [
        "## Latency",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {measured_commit()} by `.venv/bin/python {command}`. "
        "Per trigger interval, "
        "one continuous job (`python -m streaming run --trigger-interval Ns`, local[2], fresh topics, checkpoint "
        f"and lake) while the producer sends at each rate in turn: {warmup:.0f} s unmeasured, then {seconds:.0f} s "
        "measured. Latency: from the producer handing a sampled event to Kafka to the first read of the Iceberg "
        "catalog (every 0.1 s) that shows the snapshot adding it committed. Lag: the topics' ends minus the "
        "job's monitoring consumer group, every second; 'keeps up' means its peaks stayed level (growth under "
        "5% of the rate) and the job caught up within 90 s (or 10 triggers) of the producer's end.",
        "",
        f"- machine: {os.cpu_count()} CPUs, load average {start[0]:.1f}, {start[1]:.1f}, {start[2]:.1f} at start, "
        f"{end[0]:.1f}, {end[1]:.1f}, {end[2]:.1f} at the end (shared with the three brokers, the registry and "
        "other work)",
        "",
        *_HEAD,
        *(latency_row(p) for p in phases),
        "",
        "Where the time goes, means in seconds: per sampled event, the wait from its send until its query's batch "
        "triggered and from the trigger until the snapshot holding it was seen committed; per batch (of those "
        "holding a sample), Spark's phases from the job's progress log (offsets and planning: latestOffset, "
        "walCommit, getBatch, queryPlanning) and, inside addBatch, the quarantine table's append (the entity "
        "table's append, its write and Iceberg commit in one, is the rest of addBatch).",
        "",
        *_TIME_HEAD,
        *(time_row(p) for p in phases),
        "",
    ]
    at_target = [p for p in phases if p.rate == TARGET_RATE and p.latencies]
    for phase in at_target:
        p95 = percentile(phase.latencies, 95)
        verdict = "met" if p95 < 3 * phase.trigger else "**missed**"
        lines.append(
            f"- {TARGET_RATE:,.0f} events/s, trigger {phase.trigger} s: p95 {p95:.2f} s against a target of "
            f"{3 * phase.trigger} s: {verdict}"
        )
    for trigger in sorted({p.trigger for p in phases}):
        kept = [p for p in phases if p.trigger == trigger and keeps_up(p)]
        top_kept = max(kept, key=sent_rate, default=None)
        best = (
            f"{sent_rate(top_kept):,.0f} events/s sent ({top_kept.rate:,.0f} asked)"
            if top_kept
            else "none of the rates tried"
        )
        lines.append(f"- highest rate the job kept up with at a {trigger} s trigger: {best}")
    top = max(phases, key=lambda p: p.rate, default=None)
    if top is not None:
        lines.append(f"- producer: asked for {top.rate:,.0f} events/s, sent {sent_rate(top):,.0f} events/s")
    lines.append("")
    return "\n".join(lines)
