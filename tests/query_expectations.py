"""What each named query must return, computed in Python from the records themselves (not with SQL).

Records are dicts as the schemas define them (``event_time`` a UTC datetime, ``location`` a dict), as
a test wrote them into the lake or as an independent Kafka consumer decoded them. Rounded figures are
compared within the rounding of the query.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from statistics import fmean
from typing import Any

import pytest

Rows = Sequence[Sequence[Any]]
Records = Mapping[str, list[dict[str, Any]]]


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _near(digits: int) -> Callable[[float], Any]:
    return lambda value: pytest.approx(value, abs=0.5 * 10**-digits + 1e-9)


def _latest(records: Iterable[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    latest: dict[Any, dict[str, Any]] = {}
    for record in records:
        if record[key] not in latest or record["event_time"] > latest[record[key]]["event_time"]:
            latest[record[key]] = record
    return latest


def last_position(records: Records) -> list[tuple[Any, ...]]:
    """One row per vehicle: the position, time and speed of its latest event."""
    r5, r1 = _near(5), _near(1)
    latest = _latest(records["vehicle"], "vehicle_id")
    return [
        (v, r["event_time"], r5(r["location"]["latitude"]), r5(r["location"]["longitude"]), r1(r["speed_kmh"]))
        for v, r in sorted(latest.items())
    ]


def events_per_vehicle_hour(records: Records) -> list[tuple[Any, ...]]:
    """Events per vehicle and UTC hour."""
    counts = Counter((r["vehicle_id"], _hour(r["event_time"])) for r in records["vehicle"])
    return [(v, h, n) for (v, h), n in sorted(counts.items())]


def speed_per_hour(records: Records) -> list[tuple[Any, ...]]:
    """Events, average and top speed per UTC hour."""
    speeds: dict[datetime, list[float]] = defaultdict(list)
    for record in records["vehicle"]:
        speeds[_hour(record["event_time"])].append(record["speed_kmh"])
    r1 = _near(1)
    return [(h, len(s), r1(fmean(s)), r1(max(s))) for h, s in sorted(speeds.items())]


def speed_per_segment(records: Records) -> list[tuple[Any, ...]]:
    """Events and average speed per 0.01-degree cell (test data keeps away from the rounding edges)."""
    speeds: dict[tuple[float, float], list[float]] = defaultdict(list)
    for record in records["vehicle"]:
        cell = (round(record["location"]["latitude"], 2), round(record["location"]["longitude"], 2))
        speeds[cell].append(record["speed_kmh"])
    return [(lat, lon, len(s), _near(1)(fmean(s))) for (lat, lon), s in sorted(speeds.items())]


def weather_along_route(records: Records) -> list[tuple[Any, ...]]:
    """Per vehicle and hour: observations, average temperature, top rain and wind, the latest condition and place."""
    groups: dict[tuple[Any, datetime], list[dict[str, Any]]] = defaultdict(list)
    for record in records["weather"]:
        groups[(record["vehicle_id"], _hour(record["event_time"]))].append(record)
    r1, r4 = _near(1), _near(4)
    rows = []
    for (vehicle, hour), group in sorted(groups.items()):
        last = max(group, key=lambda r: r["event_time"])
        rows.append(
            (
                vehicle,
                hour,
                len(group),
                r1(fmean(r["temperature_c"] for r in group)),
                r1(max(r["precipitation_mm"] for r in group)),
                r1(max(r["wind_speed_kmh"] for r in group)),
                last["condition"],
                r4(last["location"]["latitude"]),
                r4(last["location"]["longitude"]),
            )
        )
    return rows


def emergencies_by_type_status(records: Records) -> list[tuple[Any, ...]]:
    """Incidents per type and current (latest) status."""
    latest = _latest(records["emergency"], "incident_id")
    counts = Counter((r["incident_type"], r["status"]) for r in latest.values())
    return [(t, s, n) for (t, s), n in sorted(counts.items())]


def quarantine_by_reason(records: Records) -> list[tuple[Any, ...]]:
    """Quarantined vehicle records per UTC day (of quarantine) and reason."""
    counts = Counter(
        (r["ingested_at"].astimezone(UTC).date(), r["reason"]) for r in records.get("vehicle_quarantine", [])
    )
    return [(d, reason, n) for (d, reason), n in sorted(counts.items())]


EXPECTED: dict[str, Callable[[Records], list[tuple[Any, ...]]]] = {
    "events-per-vehicle-hour": events_per_vehicle_hour,
    "speed-per-hour": speed_per_hour,
    "speed-per-segment": speed_per_segment,
    "weather-along-route": weather_along_route,
    "emergencies-by-type-status": emergencies_by_type_status,
    "last-position": last_position,
    "quarantine-by-reason": quarantine_by_reason,
}
"""The independent expectation of every named query, by name."""


def assert_rows(name: str, rows: Rows, records: Records) -> None:
    """The rows of named query ``name`` equal what the records say, row by row."""
    expected = EXPECTED[name](records)
    assert len(rows) == len(expected), f"{name}: {len(rows)} rows, expected {len(expected)}"
    for got, want in zip(rows, expected, strict=True):
        assert tuple(got) == tuple(want), f"{name}: row {got} != {want}"
