"""End-to-end latency: from the producer's send to the row being readable in the lake, while the job runs.

Run with the local stack up: ``.venv/bin/python bench/latency_bench.py``. For each trigger interval
(``--triggers``, seconds) a continuous job (``python -m streaming run --trigger-interval Ns``) streams
fresh topics (a unique prefix, schemas registered as they are, rules included) into a fresh lake;
while it runs, the producer sends at each steady rate of ``--rates`` in turn, lowest first, each for
``--warmup`` seconds unmeasured and then ``--seconds`` measured. The producer stamps a sample of
its events (about ``--samples`` per second) with the wall-clock time it hands them to Kafka; a
watcher reads each entity table's current metadata location from the lake's Iceberg catalog every
0.1 s (the SQLite catalog's ``iceberg_tables`` rows, as ``lakesql.snapshots`` reads them: one cheap
query) and, when it changed, notes the new snapshots that metadata file lists (a row is readable when
the snapshot that adds it commits, which is the catalog's switch to a new metadata file). Afterwards
each snapshot the job appended is mapped to its added data files (its manifests, with pyiceberg) and
to its micro-batch (the batch id the job records in the snapshot's summary, ``streaming.commit``), and
the sampled ids are looked up in those files; maintenance rewrites (no batch id) are left out, as they
only rewrite rows already readable. The consumer group the job commits to
(``<prefix>telemetry-lake``) against the topics' ends gives the lag every second. The job's log
gives each batch's trigger time and Spark's phases, which split each latency into the wait for a
trigger and the batch itself. Everything made is deleted afterwards. The tables go to stdout and to
the "## Latency" section of docs/benchmarks.md.

``--plan cross`` runs every rate at a 5 s trigger but only 5,000 events/s at the other triggers.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from latency_report import render
from latency_stats import LagTrend, lag_trend, parse_job_log, snapshot_batch, snapshot_ids
from provenance import write_section  # bench/ is the script's folder: on sys.path
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.io import load_file_io
from pyiceberg.manifest import ManifestContent, ManifestEntryStatus
from rules_bench import set_up, tear_down

from core.catalog import load_catalog, project_root
from core.iceberg_tables import open_catalog
from core.kafka_logs import librdkafka_logger
from core.settings import ConnectionSettings
from lakesql.snapshots import metadata_locations
from producer.producer import TelemetryProducer
from producer.simulator import SimulationConfig, simulate
from streaming.commit import BATCH_ID
from streaming.settings import StreamingSettings

CATALOG = load_catalog()
ROOT = project_root()
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
_POLL_S = 0.1


def produce(prefix: str, rate: float, warmup: float, seconds: float, samples: float, out: str) -> None:
    """Send ``rate`` events/s for ``warmup`` + ``seconds`` s; stamp a sample of the measured ones (child process)."""
    connection = ConnectionSettings.from_env(topic_prefix=prefix)
    first = int(rate * warmup)
    total = first + int(rate * seconds)
    every = max(1, round(rate / samples))
    # At least three events per vehicle and step (state, GPS, weather; cameras and emergencies now and then);
    # enough vehicles that the journey outlasts the phase. A step lasts as long as its events take to send,
    # so the simulated clock never runs ahead of the real one: the data rule event-time-not-future allows
    # five minutes of clock skew, not a journey replayed faster than real time.
    vehicles = max(20, int(rate // 10))
    config = SimulationConfig(vehicles=vehicles, seed=random.randrange(1 << 30), step_seconds=3 * vehicles / rate,
                              start_time=datetime.now(UTC).replace(microsecond=0))  # fmt: skip
    sampled: list[tuple[str, str, float]] = []
    measured_at, measured = 0.0, 0
    with TelemetryProducer(connection, CATALOG) as producer:
        began = time.monotonic()
        # A producer slower than the rate stops on time all the same: it reports the rate it reached.
        deadline = began + warmup + seconds
        for n, event in enumerate(itertools.islice(simulate(config, CATALOG), total)):
            while (wait := began + n / rate - time.monotonic()) > 0:
                producer.poll(min(wait, 0.05))
            if n == first or (n < first and time.monotonic() >= began + warmup):
                first, measured_at = n, time.monotonic()
            if time.monotonic() >= deadline:
                break
            if n >= first and (n - first) % every == 0:
                sampled.append((str(event.value["id"]), event.stream, time.time()))
            producer.produce(event)
            measured += n >= first
        sent = time.monotonic()
    result = {"sampled": sampled, "measured": measured, "measured_s": sent - measured_at,
              "delivered": producer.delivered, "produced": producer.produced}  # fmt: skip
    Path(out).write_text(json.dumps(result))


class LagProbe:
    """Offsets behind: the topics' ends minus what the job committed to its monitoring group."""

    def __init__(self, connection: ConnectionSettings) -> None:
        self._admin = AdminClient({**connection.kafka_config(), "logger": librdkafka_logger("bench.lag")})
        self.group = f"{connection.topic_prefix}telemetry-lake"
        names = [connection.topic(s.topic) for s in CATALOG.streams]
        # Topics created a moment ago may not be in the metadata of the broker that answers yet.
        deadline = time.monotonic() + 30
        while True:
            topics = self._admin.list_topics(timeout=30).topics
            missing = [n for n in names if n not in topics or not topics[n].partitions]
            if not missing:
                break
            if time.monotonic() > deadline:
                msg = f"latency bench: topics {', '.join(missing)} are not in the cluster's metadata after 30 s"
                raise SystemExit(msg)
            time.sleep(0.2)
        self._partitions = [TopicPartition(n, p) for n in names for p in topics[n].partitions]

    def lag(self) -> int:
        """Sum over the five topics' partitions; a partition the job never committed counts from 0."""
        ends = self._admin.list_offsets({tp: OffsetSpec.latest() for tp in self._partitions})
        high = {(tp.topic, tp.partition): f.result(timeout=10).offset for tp, f in ends.items()}
        committed: dict[tuple[str, int], int] = {}
        with contextlib.suppress(KafkaException):  # no group yet: the job has committed nothing
            request = [ConsumerGroupTopicPartitions(self.group, list(self._partitions))]
            answer = self._admin.list_consumer_group_offsets(request)[self.group].result(timeout=10)
            committed = {(tp.topic, tp.partition): tp.offset for tp in answer.topic_partitions if tp.offset >= 0}
        return sum(max(end - committed.get(key, 0), 0) for key, end in high.items())

    def delete_group(self) -> None:
        """Leave no monitoring group behind."""
        with contextlib.suppress(KafkaException):
            self._admin.delete_consumer_groups([self.group])[self.group].result(timeout=10)


class LakeWatcher:
    """When each snapshot of the entity tables was first seen in the lake's Iceberg catalog."""

    def __init__(self, lake: Path) -> None:
        self.iceberg = StreamingSettings.from_env(lake=str(lake)).iceberg()
        self._tables = [stream.name for stream in CATALOG.streams]  # an entity's table is named after it
        self._io = load_file_io(self.iceberg.pyiceberg_properties())
        self._locations: dict[str, str] = {}
        self.seen: dict[tuple[str, int], float] = {}
        """(table, snapshot id) -> the time of the first poll that found the snapshot committed."""

    def poll(self) -> None:
        """Read the tables' current metadata locations once; a changed one's new snapshots get this poll's time."""
        now = time.time()
        for table, location in metadata_locations(self.iceberg, self._tables).items():
            if self._locations.get(table) == location:
                continue
            self._locations[table] = location
            with self._io.new_input(location).open() as stream:
                metadata = json.load(stream)
            for snapshot_id in snapshot_ids(metadata):
                self.seen.setdefault((table, snapshot_id), now)

    def appended(self, since: float) -> Iterator[tuple[str, int, str, float]]:
        """(table, batch id, data file, first seen) of each file the job's appends seen since ``since`` added."""
        client = open_catalog(self.iceberg)
        for name in self._tables:
            try:
                table = client.load_table(self.iceberg.table_id(name))
            except NoSuchTableError:
                continue
            for snapshot in table.snapshots():
                seen = self.seen.get((name, snapshot.snapshot_id))
                batch = snapshot_batch(snapshot.summary, BATCH_ID)
                if seen is None or seen < since or batch is None:
                    continue  # before the phase, or maintenance rewriting rows already readable
                for manifest in snapshot.manifests(table.io):
                    if manifest.added_snapshot_id != snapshot.snapshot_id or manifest.content != ManifestContent.DATA:
                        continue
                    for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                        if entry.status == ManifestEntryStatus.ADDED and entry.snapshot_id == snapshot.snapshot_id:
                            yield name, batch, entry.data_file.file_path, seen

    def ids(self, data_file: str) -> list[str]:
        """The ``id`` column of one data file."""
        with self._io.new_input(data_file).open() as stream:
            return [str(v) for v in pq.read_table(stream, columns=["id"]).column("id").to_pylist()]


@dataclass
class Phase:
    """One (rate, trigger) combination: what was sent, when it became readable, how far behind the job was."""

    rate: float
    trigger: int
    log: Path
    produced: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    batch_parts: list[float] = field(default_factory=list)
    missing: int = 0
    lag: list[tuple[float, int]] = field(default_factory=list)
    drain_s: float | None = None
    batches: list[dict[str, float]] = field(default_factory=list)

    @property
    def trend(self) -> LagTrend:
        """The lag over the measured seconds, in windows of three triggers (six seconds at least)."""
        return lag_trend(self.lag, self.rate, window=max(3 * self.trigger, 6))


def _start_job(prefix: str, trigger: int, work: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log = work / f"job-{trigger}s.log"
    env = {**os.environ, "TELEMETRY_TOPIC_PREFIX": prefix, "TELEMETRY_LOG_LEVEL": "INFO"}
    command = [sys.executable, "-m", "streaming", "run", "--trigger-interval", f"{trigger}s",
               "--lake", str(work / f"lake-{trigger}s"), "--checkpoints", str(work / f"ckpt-{trigger}s")]  # fmt: skip
    with log.open("wb") as out:
        job = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while " into " not in log.read_text(errors="replace"):
        if job.poll() is not None or time.monotonic() > deadline:
            msg = f"the job did not start (see {log}):\n{log.read_text(errors='replace')[-2000:]}"
            raise RuntimeError(msg)
        time.sleep(0.5)
    return job, log


def _stop_job(job: subprocess.Popen[bytes]) -> None:
    if job.poll() is None:
        job.send_signal(signal.SIGINT)
        try:
            job.wait(timeout=180)
        except subprocess.TimeoutExpired:
            job.kill()
            job.wait()


def run_phase(phase: Phase, prefix: str, args: argparse.Namespace, watcher: LakeWatcher, probe: LagProbe,
              work: Path) -> None:  # fmt: skip
    """Produce at the phase's rate while watching the lake and the lag; then let the job drain."""
    out = work / f"produced-{phase.trigger}-{int(phase.rate)}.json"
    context = multiprocessing.get_context("spawn")
    producer = context.Process(target=produce, args=(prefix, phase.rate, args.warmup, args.seconds, args.samples,
                                                     str(out)))  # fmt: skip
    began = time.time()
    producer.start()
    measuring_from = began + args.warmup
    next_lag = 0.0
    while producer.is_alive():
        watcher.poll()
        if (now := time.time()) >= next_lag:
            next_lag = now + 1.0
            if now >= measuring_from:
                phase.lag.append((now, probe.lag()))
        time.sleep(_POLL_S)
    producer.join()
    done = time.time()
    deadline = done + max(90.0, 10 * phase.trigger)
    while time.time() < deadline:
        watcher.poll()
        if probe.lag() == 0:
            watcher.poll()
            phase.drain_s = time.time() - done
            break
        time.sleep(_POLL_S)
    result = json.loads(out.read_text())
    phase.produced = {"measured": result["measured"], "seconds": result["measured_s"],
                      "delivered": result["delivered"], "produced": result["produced"]}  # fmt: skip
    _match(phase, result["sampled"], watcher, began, prefix)


def _match(phase: Phase, sampled: list[list[object]], watcher: LakeWatcher, since: float, prefix: str) -> None:
    """Look the sampled ids up in the files the job's snapshots added during the phase; split each latency."""
    wanted = {str(i): float(str(t)) for i, _, t in sampled}
    found: dict[str, tuple[tuple[str, int], float]] = {}
    for table, batch, data_file, seen in watcher.appended(since):
        for value in watcher.ids(data_file):
            if value in wanted:
                found[value] = ((table, batch), seen)
    log_lines = phase.log.read_text(errors="replace").splitlines()
    timings = parse_job_log(log_lines, prefix)
    used: set[tuple[str, int]] = set()
    for event_id, sent in wanted.items():
        if event_id not in found:
            phase.missing += 1
            continue
        key, seen = found[event_id]
        phase.latencies.append(seen - sent)
        if key in timings:
            phase.waits.append(timings[key].started - sent)
            phase.batch_parts.append(seen - timings[key].started)
            used.add(key)
    for key in sorted(used):
        timing = timings[key]
        quarantine_ms = 1000 * (timing.quarantine_s or 0.0)
        phase.batches.append({**{k: float(v) for k, v in timing.durations_ms.items()},
                              "quarantine_ms": quarantine_ms, "rows": float(timing.rows)})  # fmt: skip


def plan(args: argparse.Namespace) -> dict[int, list[float]]:
    """Rates to run per trigger, lowest rate first."""
    rates = sorted(float(r) for r in args.rates.split(","))
    triggers = [int(t) for t in args.triggers.split(",")]
    if args.plan == "full":
        return {t: rates for t in triggers}
    return {t: rates if t == 5 else [r for r in rates if r == 5000] for t in triggers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="1000,5000,20000", help="events/s, comma-separated")
    parser.add_argument("--triggers", default="1,5,10", help="trigger intervals in seconds, comma-separated")
    parser.add_argument("--plan", choices=("full", "cross"), default="full", help="every combination, or a cross")
    parser.add_argument("--seconds", type=float, default=120.0, help="measured seconds per rate and trigger")
    parser.add_argument("--warmup", type=float, default=20.0, help="unmeasured seconds before each measurement")
    parser.add_argument("--samples", type=float, default=50.0, help="sampled events per second")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args()
    load_start = os.getloadavg()
    phases: list[Phase] = []
    work = Path(tempfile.mkdtemp(prefix="latency-bench-"))
    try:
        for trigger, rates in plan(args).items():
            if not rates:
                continue
            prefix = f"lat{uuid.uuid4().hex[:8]}_"
            connection = ConnectionSettings.from_env(topic_prefix=prefix)
            set_up(connection, with_rules=True)
            probe = LagProbe(connection)
            job, log = _start_job(prefix, trigger, work)
            try:
                watcher = LakeWatcher(work / f"lake-{trigger}s")
                for rate in rates:
                    phase = Phase(rate=rate, trigger=trigger, log=log)
                    run_phase(phase, prefix, args, watcher, probe, work)
                    phases.append(phase)
                    print(render([phase], brief=True), flush=True)
            finally:
                _stop_job(job)
                probe.delete_group()
                tear_down(connection)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    command = " ".join(["bench/latency_bench.py", *sys.argv[1:]])
    section = render(phases, command=command, seconds=args.seconds, warmup=args.warmup,
                     load=(load_start, os.getloadavg()))  # fmt: skip
    print(section)
    if not args.no_write:
        write_section(section, BENCHMARKS)
        print("written to docs/benchmarks.md")


if __name__ == "__main__":
    main()
