"""Records that pass and records that break each data rule of the schemas, for the producer, Spark and CEL tests.

A good record of each stream comes from the simulator (its journeys start in 2025, so it meets the
time rules); each case changes one field of it. Every breaking case breaks exactly its own rule.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from core.catalog import load_catalog
from producer.simulator import SimulationConfig, simulate

PNG = b"\x89PNG\r\n\x1a\n"
MAX_SNAPSHOT = 524_288


@dataclass(frozen=True)
class Case:
    """One field of a stream's good record set to ``value`` (a callable is called when the record is made)."""

    stream: str
    rule: str
    path: str
    value: Any

    def record(self) -> dict[str, Any]:
        """The stream's good record with this case's change."""
        out = copy.deepcopy(good_records()[self.stream])
        *parents, last = self.path.split(".")
        target = out
        for name in parents:
            target = target[name]
        target[last] = self.value() if isinstance(self.value, Callable) else self.value  # type: ignore[arg-type]
        return out


def _future() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)


_SECONDS_AS_MILLIS = datetime(1970, 1, 21, 4, 0, tzinfo=UTC)  # 1.7e9 ms: a time in seconds taken for milliseconds
_ALL = ("vehicle", "gps", "traffic", "weather", "emergency")
_MOVING = ("vehicle", "gps")

BREAKS: tuple[Case, ...] = (
    *(Case(s, "location-in-range", "location.latitude", 90.5) for s in _ALL),
    *(Case(s, "location-in-range", "location.longitude", -180.5) for s in _ALL),
    Case("vehicle", "location-in-range", "location.latitude", float("nan")),
    *(Case(s, "event-time-not-future", "event_time", _future) for s in _ALL),
    *(Case(s, "event-time-after-2020", "event_time", _SECONDS_AS_MILLIS) for s in _ALL),
    *(Case(s, "speed-in-range", "speed_kmh", v) for s in _MOVING for v in (-0.1, 300.5, float("nan"))),
    *(Case(s, "heading-in-range", "direction_deg", v) for s in _MOVING for v in (360.0, -1.0)),
    Case("gps", "accuracy-in-range", "horizontal_accuracy_m", -1.0),
    Case("gps", "accuracy-in-range", "horizontal_accuracy_m", 10_000.5),
    Case("gps", "satellites-in-range", "satellites", 65),
    Case("gps", "altitude-in-range", "altitude_m", -600.0),
    Case("gps", "altitude-in-range", "altitude_m", 9_500.0),
    Case("traffic", "snapshot-is-png", "snapshot", b"GIF89a" + bytes(100)),
    Case("traffic", "snapshot-is-png", "snapshot", PNG[:7]),
    Case("traffic", "snapshot-is-png", "snapshot", PNG[:7] + b"\x0b" + bytes(10)),
    Case("traffic", "snapshot-size-bounded", "snapshot", PNG + bytes(MAX_SNAPSHOT - len(PNG) + 1)),
    Case("traffic", "media-type-png", "media_type", "image/jpeg"),
    Case("weather", "temperature-in-range", "temperature_c", 61.0),
    Case("weather", "temperature-in-range", "temperature_c", -90.5),
    Case("weather", "precipitation-in-range", "precipitation_mm", -0.5),
    Case("weather", "wind-speed-in-range", "wind_speed_kmh", 420.5),
    Case("weather", "humidity-in-range", "humidity_pct", 100.5),
    Case("weather", "air-quality-in-range", "air_quality_index", 501),
    Case("weather", "air-quality-in-range", "air_quality_index", -1),
    Case("emergency", "status-known", "status", "UNKNOWN"),
    Case("emergency", "incident-type-known", "incident_type", "UNKNOWN"),
)
"""Each case breaks its rule and no other (so the first rule broken is its rule)."""

PASSES: tuple[Case, ...] = (
    *(Case(s, "location-in-range", "location.latitude", v) for s in _ALL for v in (90.0, -90.0)),
    *(Case(s, "event-time-not-future", "event_time", lambda: datetime.now(UTC).replace(microsecond=0)) for s in _ALL),
    *(Case(s, "event-time-after-2020", "event_time", datetime(2020, 1, 1, tzinfo=UTC)) for s in _ALL),
    *(Case(s, "speed-in-range", "speed_kmh", v) for s in _MOVING for v in (0.0, 300.0)),
    *(Case(s, "heading-in-range", "direction_deg", v) for s in _MOVING for v in (0.0, 359.9)),
    Case("gps", "accuracy-in-range", "horizontal_accuracy_m", 0.0),
    Case("gps", "satellites-in-range", "satellites", 0),
    Case("gps", "altitude-in-range", "altitude_m", None),
    Case("gps", "altitude-in-range", "altitude_m", -500.0),
    Case("traffic", "snapshot-is-png", "snapshot", PNG),
    Case("traffic", "snapshot-size-bounded", "snapshot", PNG + bytes(MAX_SNAPSHOT - len(PNG))),
    Case("traffic", "media-type-png", "media_type", "image/png"),
    Case("weather", "temperature-in-range", "temperature_c", -90.0),
    Case("weather", "precipitation-in-range", "precipitation_mm", 0.0),
    Case("weather", "wind-speed-in-range", "wind_speed_kmh", 420.0),
    Case("weather", "humidity-in-range", "humidity_pct", 100.0),
    Case("weather", "air-quality-in-range", "air_quality_index", None),
    Case("weather", "air-quality-in-range", "air_quality_index", 500),
    Case("emergency", "status-known", "status", "RESOLVED"),
    Case("emergency", "incident-type-known", "incident_type", "BREAKDOWN"),
)
"""Each case is a boundary its rule lets through (the record meets every rule)."""


@cache
def good_records() -> dict[str, dict[str, Any]]:
    """The first simulated record of each stream."""
    found: dict[str, dict[str, Any]] = {}
    config = SimulationConfig(vehicles=3, max_steps=600, emergency_probability=0.2)
    for event in simulate(config, load_catalog()):
        found.setdefault(event.stream, event.value)
        if len(found) == len(_ALL):
            break
    return found


def case_id(case: Case) -> str:
    """A readable pytest id: ``gps/speed-in-range/speed_kmh=300.5``."""
    shown = "<callable>" if callable(case.value) else repr(case.value)[:20]
    return f"{case.stream}/{case.rule}/{case.path}={shown}"
