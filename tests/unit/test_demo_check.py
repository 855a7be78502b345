"""The demo's check of ``last-position`` against what Kafka holds: equal passes, any difference is named."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from stack.demo_check import last_position_mismatches
from tests.iceberg_lake import T0


def sent(vehicle: str, minutes: int, latitude: float, speed: float) -> dict[str, Any]:
    return {
        "vehicle_id": vehicle,
        "event_time": T0 + timedelta(minutes=minutes),
        "location": {"latitude": latitude, "longitude": -0.1},
        "speed_kmh": speed,
    }


KAFKA = [sent("a", 0, 51.0, 10.0), sent("a", 5, 51.123456, 42.04), sent("b", 3, 52.0, 0.0), sent("a", 2, 50.0, 1.0)]


def test_the_rows_of_the_query_equal_each_vehicles_last_record() -> None:
    rows = [("a", T0 + timedelta(minutes=5), 51.12346, -0.1, 42.0), ("b", T0 + timedelta(minutes=3), 52.0, -0.1, 0.0)]
    assert last_position_mismatches(rows, KAFKA) == []


def test_an_older_position_a_wrong_speed_or_a_missing_vehicle_is_named() -> None:
    older = [("a", T0 + timedelta(minutes=2), 50.0, -0.1, 1.0), ("b", T0 + timedelta(minutes=3), 52.0, -0.1, 0.0)]
    (problem,) = last_position_mismatches(older, KAFKA)
    assert problem.startswith("a: lake says 2025-06-01 08:02:00+00:00 (50.0, -0.1) 1.0 km/h; Kafka says")
    slow = [("a", T0 + timedelta(minutes=5), 51.12346, -0.1, 41.0), ("b", T0 + timedelta(minutes=3), 52.0, -0.1, 0.0)]
    assert len(last_position_mismatches(slow, KAFKA)) == 1
    missing = last_position_mismatches([("a", T0 + timedelta(minutes=5), 51.12346, -0.1, 42.0)], KAFKA)
    assert missing == ["vehicles in Kafka ['a', 'b'] != vehicles in the lake ['a']"]
