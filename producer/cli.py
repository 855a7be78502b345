"""``python -m producer``: drive the simulated fleet's journey into Kafka (what `make produce` runs)."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from core.catalog import load_catalog
from core.cli import run_cli
from core.errors import ConfigError
from core.settings import ConnectionSettings
from producer.geo import PLACES
from producer.progress import progress_display
from producer.run import RunOptions, run
from producer.simulator import SimulationConfig
from producer.timing import place_journey

__all__ = ["main", "parse_args"]


def _time(option: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    if text == "now":
        return datetime.now(UTC).replace(microsecond=0)
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        msg = f"{option} {text!r} is not an ISO 8601 time such as 2025-01-06T08:00:00Z (or 'now')"
        raise ConfigError(msg) from exc
    if value.tzinfo is None:
        msg = f"{option} {text!r} has no time zone; add Z for UTC (e.g. {text}Z)"
        raise ConfigError(msg)
    return value.astimezone(UTC)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, with defaults for a short demo against the local stack."""
    parser = argparse.ArgumentParser(
        prog="python -m producer",
        description="Simulate vehicles driving from an origin to a destination and produce their five "
        "telemetry streams to Kafka as Avro, governed by the registered schemas.",
        epilog=f"Named places: {', '.join(PLACES)}; or give 'latitude,longitude'.",
    )
    journey = parser.add_argument_group("journey")
    journey.add_argument("--vehicles", type=int, default=3, help="size of the fleet (default 3)")
    journey.add_argument("--seed", type=int, default=42, help="same seed, same events (default 42)")
    journey.add_argument("--origin", default="london", help="where the fleet starts (default london)")
    journey.add_argument("--destination", default="birmingham", help="where it goes (default birmingham)")
    journey.add_argument(
        "--start", help="departure time, ISO 8601 with zone or 'now' (default: now for --speedup 1, else see --end)"
    )
    journey.add_argument(
        "--end",
        help="when the replayed journey ends, ISO 8601 with zone or 'now' (default now): no event is stamped later "
        "than the moment it is sent",
    )
    journey.add_argument("--step-seconds", type=float, default=5.0, help="simulated seconds between reports")
    limits = parser.add_argument_group("how much and how fast (default: until every vehicle arrives, at full speed)")
    limits.add_argument("--duration", type=float, help="stop after this many simulated seconds")
    limits.add_argument("--count", type=int, help="stop after this many events")
    limits.add_argument("--rate", type=float, default=0.0, help="at most this many events/s (0: no limit)")
    limits.add_argument(
        "--speedup", type=float, default=0.0, help="simulated seconds per real second, 1 is real time (0: no pacing)"
    )
    limits.add_argument("--workers", type=int, default=1, help="producer processes, each a part of the fleet")
    kafka = parser.add_argument_group("where to (default: TELEMETRY_* variables, then the local stack)")
    kafka.add_argument("--bootstrap-servers", help="Kafka bootstrap servers, host:port[,...]")
    kafka.add_argument("--registry-url", help="Schema Registry (Confluent API) URL")
    kafka.add_argument("--topic-prefix", help="prefix of topics and subjects (e.g. for tests)")
    kafka.add_argument(
        "--delivery-timeout", type=float, default=120.0, help="seconds a record may wait for its acknowledgement"
    )
    kafka.add_argument("--compression", default="lz4", choices=("lz4", "zstd", "snappy", "gzip", "none"))
    parser.add_argument("--progress", default="auto", choices=("auto", "rich", "plain", "none"))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the producer; 0 when every record was delivered, 1 when some were not, 130 on Ctrl-C."""
    args = parse_args(argv)
    if args.duration is not None and args.duration < 0:
        msg = f"--duration must be at least 0 simulated seconds, got {args.duration}"
        raise ConfigError(msg)
    settings = ConnectionSettings.from_env(
        bootstrap_servers=args.bootstrap_servers, registry_url=args.registry_url, topic_prefix=args.topic_prefix
    )
    simulation = SimulationConfig(
        vehicles=args.vehicles,
        seed=args.seed,
        origin=args.origin,
        destination=args.destination,
        step_seconds=args.step_seconds,
        max_steps=None if args.duration is None else math.floor(args.duration / args.step_seconds) + 1,
    )
    catalog = load_catalog()
    simulation = place_journey(
        simulation,
        start=_time("--start", args.start),
        end=_time("--end", args.end),
        speedup=args.speedup,
        catalog=catalog,
    )
    options = RunOptions(
        simulation=simulation,
        count=args.count,
        rate=args.rate,
        speedup=args.speedup,
        workers=args.workers,
        tuning={"delivery_timeout_s": args.delivery_timeout, "compression": args.compression},
    )
    with progress_display(args.progress, total=args.count) as progress:
        result = run(settings, catalog, options, progress)
    summary = result.summary
    print(summary.render())  # noqa: T201 - the summary is the command's output
    if summary.undelivered:
        reason = f" (last error: {summary.last_error})" if summary.last_error else ""
        print(  # noqa: T201 - the one-line error
            f"error: {summary.undelivered} of {summary.produced} records were not delivered to "
            f"{settings.bootstrap_servers} within {args.delivery_timeout:g} s{reason}; is Kafka up? try `make up`",
            file=sys.stderr,
        )
        return 1
    if result.interrupted:
        print("interrupted: stopped early; every record produced was delivered", file=sys.stderr)  # noqa: T201
        return 130
    return 0


def entry() -> None:
    """Console entry point."""
    run_cli(main)
