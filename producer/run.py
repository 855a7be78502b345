"""Run a journey into Kafka: checks first, then pacing, limits, progress, workers and the final summary."""

from __future__ import annotations

import dataclasses
import multiprocessing
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from core.catalog import Catalog
from core.errors import ConfigError, TelemetryError
from core.settings import ConnectionSettings
from producer.producer import TelemetryProducer
from producer.rule_check import RuleChecker
from producer.serializer import WireSerializer
from producer.simulator import STREAMS, Event, SimulationConfig, simulate
from producer.summary import ProduceSummary
from producer.timing import wait_until_due
from producer.writers import lookup_writers

__all__ = ["RunOptions", "RunResult", "check_records", "produce_journey", "run"]

Progress = Callable[[int, int, int], None]
"""Called now and then with (produced, delivered, failed)."""
_PROGRESS_EVERY_S = 0.5
_START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class RunOptions:
    """How to run a journey.

    Attributes:
        simulation: what to simulate (its ``max_steps`` bounds the simulated duration).
        count: stop after this many events in total; None for no limit.
        rate: at most this many events per second in total; 0 for as fast as possible.
        speedup: simulated seconds per wall-clock second (1 is real time); 0 for as fast as possible.
        workers: processes, each producing a disjoint subset of the fleet.
        tuning: producer settings (see :class:`producer.producer.ProducerTuning`).
    """

    simulation: SimulationConfig
    count: int | None = None
    rate: float = 0.0
    speedup: float = 0.0
    workers: int = 1
    tuning: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.count is not None and self.count < 0:
            msg = f"--count must be at least 0, got {self.count}"
            raise ConfigError(msg)
        if self.rate < 0 or self.speedup < 0:
            msg = "--rate and --speedup must be 0 (as fast as possible) or positive"
            raise ConfigError(msg)
        if not 1 <= self.workers <= self.simulation.vehicles:
            vehicles = self.simulation.vehicles
            msg = f"--workers must be between 1 and the number of vehicles ({vehicles}), got {self.workers}"
            raise ConfigError(msg)

    def share(self, worker: int) -> tuple[list[int], int | None, float]:
        """Worker ``worker``'s vehicles, event count and rate."""
        n = self.workers
        vehicles = list(range(worker, self.simulation.vehicles, n))
        count = None if self.count is None else self.count // n + (1 if worker < self.count % n else 0)
        return vehicles, count, self.rate / n


@dataclass(frozen=True)
class RunResult:
    """A summary plus whether the run was cut short by Ctrl-C."""

    summary: ProduceSummary
    interrupted: bool = False


def check_records(writers: dict[str, tuple[str, WireSerializer]], config: SimulationConfig, catalog: Catalog) -> None:
    """Check and serialize sample events of every stream against the registered schemas, sending nothing.

    A short probe journey with a camera every few metres and an emergency at once yields every
    stream within a few steps, so a record that does not match its schema or breaks one of its data
    rules fails here, before anything is produced.

    Raises:
        RuleViolationError: naming the rule and the fields it reads.
        SerializationError: naming the field path of the first mismatch.
    """
    checkers = {name: RuleChecker(s.subject, s.schema) for name, (_, s) in writers.items()}
    probe = dataclasses.replace(
        config,
        vehicles=1,
        max_steps=400,
        camera_spacing_m=20.0,
        emergency_probability=1.0,
    )
    seen: set[str] = set()
    for event in simulate(probe, catalog):
        checkers[event.stream].check(event.value)
        writers[event.stream][1].serialize(event.value)
        seen.add(event.stream)
        if seen.issuperset(STREAMS):
            return


def _events(options: RunOptions, catalog: Catalog, vehicles: list[int], count: int | None) -> Iterator[Event]:
    for n, event in enumerate(simulate(options.simulation, catalog, vehicle_indices=vehicles)):
        if count is not None and n >= count:
            return
        yield event


def produce_journey(
    settings: ConnectionSettings,
    catalog: Catalog,
    options: RunOptions,
    *,
    worker: int = 0,
    progress: Progress | None = None,
    ready: Callable[[], None] | None = None,
) -> RunResult:
    """Produce one worker's share of the journey in this process, paced as asked, and flush.

    No event is sent before its event time (see :mod:`producer.timing`). Stops early at the first failed
    delivery: carrying on would only pile up more undelivered records.

    Args:
        settings: where to produce.
        catalog: the streams.
        options: what to simulate and how fast.
        worker: which share of the fleet (see :meth:`RunOptions.share`).
        progress: called now and then with (produced, delivered, failed).
        ready: called once the producer is set up, before the first event; it may block (to start
            workers together) or raise (another worker failed to start: send nothing).
    """
    vehicles, count, rate = options.share(worker)
    start_sim = options.simulation.start_time
    interrupted = False
    events = _events(options, catalog, vehicles, count)
    with TelemetryProducer(settings, catalog, **options.tuning) as producer:
        if ready is not None:
            ready()
        began = time.monotonic()
        next_report = began
        try:
            for n, event in enumerate(events):
                if rate or options.speedup:
                    due = max(
                        n / rate if rate else 0.0,
                        (event.value["event_time"] - start_sim).total_seconds() / options.speedup
                        if options.speedup
                        else 0.0,
                    )
                    while (wait := began + due - time.monotonic()) > 0:
                        producer.poll(min(wait, 0.2))
                wait_until_due(event.value["event_time"], producer.poll)
                producer.produce(event)
                if producer.failed:
                    break
                if progress is not None and (now := time.monotonic()) >= next_report:
                    next_report = now + _PROGRESS_EVERY_S
                    progress(producer.produced, producer.delivered, producer.failed)
        except KeyboardInterrupt:
            interrupted = True
    if progress is not None:
        progress(producer.produced, producer.delivered, producer.failed)
    return RunResult(producer.summary(), interrupted)


class _PeerFailedError(TelemetryError):
    """Another worker could not start, so this one sends nothing either."""


def _worker(
    settings: ConnectionSettings, options: RunOptions, worker: int, counters: Any, results: Any, gate: Any
) -> None:  # pragma: no cover - runs in a child process
    from core.catalog import load_catalog

    def report(produced: int, delivered: int, failed: int) -> None:
        counters[3 * worker : 3 * worker + 3] = [produced, delivered, failed]

    def ready() -> None:
        # All workers start producing together, or none does (and timing spans producing, not start-up).
        try:
            gate.wait(timeout=_START_TIMEOUT_S)
        except threading.BrokenBarrierError as exc:
            msg = "another producer worker failed to start"
            raise _PeerFailedError(msg) from exc

    try:
        result = produce_journey(settings, load_catalog(), options, worker=worker, progress=report, ready=ready)
        results.put((worker, result, None))
    except Exception as exc:  # sent to the parent, which reports it as one line
        gate.abort()
        results.put((worker, None, exc))
    except KeyboardInterrupt:  # interrupted while starting or flushing: the parent saw the signal too
        results.put((worker, None, TelemetryError("interrupted before the worker could report")))


def run(
    settings: ConnectionSettings, catalog: Catalog, options: RunOptions, progress: Progress | None = None
) -> RunResult:
    """Check the registry and the records, then produce the journey in ``options.workers`` processes.

    Raises:
        RegistryUnavailableError, RegistryError, SerializationError: before anything is sent.
    """
    check_records(lookup_writers(settings, catalog), options.simulation, catalog)
    if options.workers == 1:
        return produce_journey(settings, catalog, options, progress=progress)
    context = multiprocessing.get_context("spawn")  # no forked librdkafka threads or sockets
    counters = context.Array("q", 3 * options.workers, lock=False)
    results = context.Queue()
    gate = context.Barrier(options.workers)
    processes = [
        context.Process(target=_worker, args=(settings, options, w, counters, results, gate), name=f"producer-{w}")
        for w in range(options.workers)
    ]
    for p in processes:
        p.start()
    outcomes: dict[int, tuple[RunResult | None, BaseException | None]] = {}
    interrupted = False
    while len(outcomes) < len(processes):
        try:
            try:
                worker, result, error = results.get(timeout=_PROGRESS_EVERY_S / 2)
                outcomes[worker] = (result, error)
            except queue.Empty:
                if all(not p.is_alive() for p in processes) and results.empty():
                    break  # a worker died without a word (killed); reported below
            if progress is not None:
                progress(*(sum(counters[i::3]) for i in range(3)))
        except KeyboardInterrupt:
            interrupted = True  # the workers got the same signal; they flush and report
    for p in processes:
        p.join()
    errors = sorted((e for _, e in outcomes.values() if e is not None), key=lambda e: isinstance(e, _PeerFailedError))
    if errors:
        raise errors[0]  # the cause, rather than the workers that stopped because of it
    summary = ProduceSummary()
    for result, _ in outcomes.values():
        if result is not None:
            summary = summary.merge(result.summary)
            interrupted = interrupted or result.interrupted
    if len(outcomes) < len(processes):
        msg = (
            f"{len(processes) - len(outcomes)} producer worker(s) died without a summary; their records are unaccounted"
        )
        raise TelemetryError(msg)
    return RunResult(summary, interrupted)
