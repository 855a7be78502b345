"""The job against the job of an earlier commit, side by side on the same events: rows/s of each, and the ratio.

The earlier commit runs from a git worktree beside this checkout (with its own ``.venv`` and ``.cache``, made
by its ``make setup``), for example the last commit whose lake was plain Parquet::

    git worktree add ../baseline f8653f6 && make -C ../baseline setup
    .venv/bin/python bench/against_commit.py --worktree ../baseline

Both drain the ``bench_`` topics of ``bench/stream_bench.py`` (run it first; it produces them) with an
available-now trigger, from a fresh checkpoint into a fresh lake folder, each in a process of its own with
the same Spark settings (``local[2]``). A process drains once untimed (the JVM compiles the hot code then),
then once timed. The two commits alternate for ``--rounds`` rounds, so a change in the machine's load
falls on both; the ratio is of the medians. The figures go to the "## Streaming: against an earlier commit"
section of docs/benchmarks.md, with both commits.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from provenance import measured_commit, write_section  # bench/ is the script's folder: on sys.path
from stream_bench import PREFIX, per_topic_cap, topic_sizes

from core.catalog import project_root
from core.settings import ConnectionSettings, local_dir

# Runs inside either checkout: only what both commits' streaming packages have.
DRAIN = """
import dataclasses, json, shutil, sys, time
from core.catalog import load_catalog
from streaming.job import run
from streaming.session import get_spark
from streaming.settings import StreamingSettings

prefix, work, cap = sys.argv[1], sys.argv[2], int(sys.argv[3])
shutil.rmtree(work, ignore_errors=True)
catalog = load_catalog()
spark = None
seconds = {}
for name in ("warm-up", "timed"):
    settings = StreamingSettings.from_env(topic_prefix=prefix, lake=f"{work}/{name}/lake",
                                          checkpoints=f"{work}/{name}/checkpoints", available_now=True)
    settings = dataclasses.replace(settings, max_offsets_per_trigger=cap)
    spark = spark or get_spark(settings, app_name="against-commit")
    started = time.perf_counter()
    rows = sum(run(settings, spark=spark, catalog=catalog).rows.values())
    seconds[name] = time.perf_counter() - started
print("RESULT " + json.dumps({"seconds": seconds, "rows": rows}))
shutil.rmtree(work, ignore_errors=True)
"""


def drain(checkout: Path, work: Path, cap: int) -> tuple[float, int]:
    """Seconds of the timed drain of ``checkout``'s job, and the rows it landed."""
    python = checkout / ".venv" / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_")}
    done = subprocess.run([str(python), "-c", DRAIN, PREFIX, str(work), str(cap)], cwd=checkout, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        message = f"error: the job of {checkout} failed (exit {done.returncode}): {done.stderr[-2000:]}"
        raise SystemExit(message)
    result = json.loads(lines[-1].removeprefix("RESULT "))
    return float(result["seconds"]["timed"]), int(result["rows"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worktree", type=Path, required=True, help="checkout of the earlier commit, set up")
    parser.add_argument("--max-offsets", type=int, default=1_000_000, help="records per micro-batch (all topics)")
    parser.add_argument("--rounds", type=int, default=2, help="timed drains of each commit, alternating")
    parser.add_argument("--no-record", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    earlier = args.worktree.resolve()
    if not (earlier / ".venv" / "bin" / "python").exists():
        print(f"error: {earlier} has no .venv: run `make setup` there first", file=sys.stderr)
        return 2
    sizes = topic_sizes(ConnectionSettings.from_env(topic_prefix=PREFIX))
    total = sum(sizes.values())
    if total == 0:
        print(f"error: no {PREFIX}* topics with events: run bench/stream_bench.py first", file=sys.stderr)
        return 2
    cap = per_topic_cap(args.max_offsets, sizes)
    work = local_dir() / "bench" / "against-commit"
    load = os.getloadavg()
    runs: dict[str, list[float]] = {"earlier": [], "this": []}
    for round_ in range(args.rounds):
        for key, checkout in (("earlier", earlier), ("this", project_root())):
            seconds, rows = drain(checkout, work / key, cap)
            if rows != total:
                print(f"error: the {key} job landed {rows:,} rows of {total:,}", file=sys.stderr)
                return 1
            runs[key].append(seconds)
            print(f"round {round_ + 1}: {key} {total / seconds:,.0f} rows/s ({seconds:.1f} s)")
    shutil.rmtree(work, ignore_errors=True)
    rate = {k: total / statistics.median(v) for k, v in runs.items()}
    lines = [
        "## Streaming: against an earlier commit",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `.venv/bin/python bench/against_commit.py "
        f"--worktree {args.worktree} --max-offsets {args.max_offsets} --rounds {args.rounds}`: {total:,} events "
        f"of the `{PREFIX}` topics drained by each commit's job (available-now, {cap:,} records per batch and "
        "topic, `local[2]`), each in its own process after one untimed drain, the commits alternating.",
        "",
        f"- this: {measured_commit()}",
        f"- earlier: {measured_commit(earlier)}",
        f"- machine: {os.cpu_count()} CPUs, load average {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} at start",
        "",
        "| job | timed drains (s) | rows/s (median) |",
        "|---|---|---:|",
    ]
    for key in ("earlier", "this"):
        lines.append(f"| {key} | {', '.join(f'{s:.1f}' for s in runs[key])} | {rate[key]:,.0f} |")
    lines += ["", f"- this / earlier: **{rate['this'] / rate['earlier']:.2f}x**", ""]
    section = "\n".join(lines)
    print(section)
    if not args.no_record:
        write_section(section, project_root() / "docs" / "benchmarks.md")
        print("recorded in docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
