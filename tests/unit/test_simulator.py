"""The journey simulator: deterministic, ends on arrival, plausible values, records that fit the schemas."""

from __future__ import annotations

import io
import itertools
import json
import re
import shutil
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fastavro
import pytest
from fastavro.validation import validate

from core.catalog import Catalog, load_catalog
from core.errors import ConfigError, SchemaError
from producer.geo import PLACES, bearing_deg, distance_m
from producer.incidents import LIFE_CYCLE
from producer.media import PNG_MEDIA_TYPE, PNG_SIGNATURE
from producer.simulator import STREAMS, Event, SimulationConfig, simulate
from producer.timing import place_journey, wait_until_due

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# Busy enough that every stream shows up in a full journey: a camera every 2 km, frequent emergencies.
BUSY = {"camera_spacing_m": 2_000.0, "emergency_probability": 0.01}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def journey(catalog: Catalog) -> list[Event]:
    """London to Birmingham, to arrival."""
    return list(simulate(SimulationConfig(vehicles=3, seed=7, **BUSY), catalog))


@pytest.fixture(scope="module")
def return_journey(catalog: Catalog) -> list[Event]:
    """Birmingham to London, to arrival."""
    config = SimulationConfig(vehicles=3, seed=7, origin="birmingham", destination="london", **BUSY)
    return list(simulate(config, catalog))


def _by_vehicle(events: list[Event], stream: str) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for e in events:
        if e.stream == stream:
            grouped[e.key].append(e.value)
    return grouped


def _wire(events: list[Event], catalog: Catalog) -> bytes:
    out = io.BytesIO()
    for e in events:
        out.write(e.stream.encode() + e.key.encode())
        fastavro.schemaless_writer(out, catalog.get(e.stream).parsed, e.value)
    return out.getvalue()


# --- determinism ---
def test_same_seed_gives_the_same_events_byte_for_byte(catalog: Catalog) -> None:
    config = SimulationConfig(vehicles=2, seed=11, max_steps=300, **BUSY)
    first, second = list(simulate(config, catalog)), list(simulate(config, catalog))
    assert first == second
    assert _wire(first, catalog) == _wire(second, catalog)


def test_another_seed_gives_other_events(catalog: Catalog) -> None:
    one = list(simulate(SimulationConfig(seed=1, max_steps=20), catalog))
    two = list(simulate(SimulationConfig(seed=2, max_steps=20), catalog))
    assert {e.key for e in one}.isdisjoint({e.key for e in two})
    assert [e.value["location"] for e in one] != [e.value["location"] for e in two]


def test_the_same_fleet_drives_back_with_new_event_ids(journey: list[Event], return_journey: list[Event]) -> None:
    assert {e.key for e in journey} == {e.key for e in return_journey}
    assert {e.value["id"] for e in journey}.isdisjoint({e.value["id"] for e in return_journey})


def test_a_subset_of_the_fleet_has_the_same_events_as_in_the_full_run(catalog: Catalog) -> None:
    config = SimulationConfig(vehicles=4, seed=3, max_steps=200, **BUSY)
    full = list(simulate(config, catalog))
    part = list(simulate(config, catalog, vehicle_indices=[1, 3]))
    keys = {e.key for e in part}
    assert len(keys) == 2
    assert part == [e for e in full if e.key in keys]


# --- the journey ---
@pytest.mark.parametrize(("fixture", "destination"), [("journey", "birmingham"), ("return_journey", "london")])
def test_every_vehicle_arrives_and_stops_at_its_destination(
    fixture: str, destination: str, request: pytest.FixtureRequest
) -> None:
    events: list[Event] = request.getfixturevalue(fixture)
    reports = _by_vehicle(events, "vehicle")
    assert len(reports) == 3
    for values in reports.values():
        last = values[-1]
        where = (last["location"]["latitude"], last["location"]["longitude"])
        assert distance_m(where, PLACES[destination]) < 1.0
        assert last["speed_kmh"] == 0.0
        assert values[0]["speed_kmh"] == 0.0  # departs standing still
        assert max(v["speed_kmh"] for v in values) > 80.0  # cruises on the open road
        hours = (last["event_time"] - values[0]["event_time"]) / timedelta(hours=1)
        assert 1.2 < hours < 4.0  # 160 km or so


def test_both_directions_pass_the_same_cameras(journey: list[Event], return_journey: list[Event]) -> None:
    there = {e.value["camera_id"] for e in journey if e.stream == "traffic"}
    back = {e.value["camera_id"] for e in return_journey if e.stream == "traffic"}
    assert len(there) > 50
    assert there == back


def test_each_vehicle_passes_each_camera_once(journey: list[Event]) -> None:
    for snapshots in _by_vehicle(journey, "traffic").values():
        ids = [s["camera_id"] for s in snapshots]
        assert len(ids) == len(set(ids))


def test_heading_follows_successive_positions(journey: list[Event]) -> None:
    for values in _by_vehicle(journey, "vehicle").values():
        for before, after in itertools.pairwise(values):
            a = (before["location"]["latitude"], before["location"]["longitude"])
            b = (after["location"]["latitude"], after["location"]["longitude"])
            if distance_m(a, b) > 20.0:
                difference = abs(bearing_deg(a, b) - after["direction_deg"]) % 360.0
                assert min(difference, 360.0 - difference) < 1.0


def test_speed_changes_like_a_car(journey: list[Event]) -> None:
    for values in _by_vehicle(journey, "vehicle").values():
        for before, after in itertools.pairwise(values):
            dt = (after["event_time"] - before["event_time"]).total_seconds()
            change_ms2 = (after["speed_kmh"] - before["speed_kmh"]) / 3.6 / dt
            assert -3.01 <= change_ms2 <= 2.51  # brakes at most 3 m/s^2, accelerates at most 2.5


def test_weather_changes_smoothly(journey: list[Event]) -> None:
    for values in _by_vehicle(journey, "weather").values():
        for before, after in itertools.pairwise(values):
            assert abs(after["temperature_c"] - before["temperature_c"]) < 0.5
            assert abs(after["humidity_pct"] - before["humidity_pct"]) < 2.0


def test_max_steps_bounds_the_simulated_duration(catalog: Catalog) -> None:
    events = list(simulate(SimulationConfig(vehicles=2, max_steps=10, step_seconds=2.0), catalog))
    times = {e.value["event_time"] for e in events}
    assert len([e for e in events if e.stream == "vehicle"]) == 20
    assert max(times) - min(times) == timedelta(seconds=18)


# --- values ---
def test_every_field_is_within_its_bounds(journey: list[Event], return_journey: list[Event]) -> None:
    events = journey + return_journey
    start = SimulationConfig().start_time
    south, north = PLACES["london"][0] - 0.3, PLACES["birmingham"][0] + 0.3
    west, east = PLACES["birmingham"][1] - 0.6, PLACES["london"][1] + 0.6
    ids = [e.value["id"] for e in events]
    assert len(ids) == len(set(ids))
    for e in events:
        v = e.value
        assert e.key == v["vehicle_id"]
        assert UUID4.match(v["id"]) and UUID4.match(v["vehicle_id"])
        assert v["event_time"].tzinfo is UTC and v["event_time"].microsecond % 1000 == 0
        assert start <= v["event_time"] < start + timedelta(hours=6)
        assert south < v["location"]["latitude"] < north and west < v["location"]["longitude"] < east
        if e.stream in ("vehicle", "gps"):
            assert 0.0 <= v["speed_kmh"] <= 160.0
            assert 0.0 <= v["direction_deg"] < 360.0
        if e.stream == "vehicle":
            assert v["make"] and v["model"] and 2012 <= v["year"] <= 2025
        elif e.stream == "gps":
            assert 1.0 <= v["horizontal_accuracy_m"] <= 80.0
            assert 4 <= v["satellites"] <= 14
            assert v["altitude_m"] is None or -50.0 < v["altitude_m"] < 500.0
        elif e.stream == "traffic":
            assert v["media_type"] == PNG_MEDIA_TYPE and v["snapshot"].startswith(PNG_SIGNATURE)
            assert 1_000 <= len(v["snapshot"]) <= 10_000
            assert re.fullmatch(r"CAM-\d{3}-\d{4}", v["camera_id"])
        elif e.stream == "weather":
            assert -30.0 < v["temperature_c"] < 45.0 and 0.0 <= v["humidity_pct"] <= 100.0
            assert v["precipitation_mm"] >= 0.0 and v["wind_speed_kmh"] >= 0.0
            assert v["air_quality_index"] is None or 0 <= v["air_quality_index"] <= 500
    gps = [e.value for e in events if e.stream == "gps"]
    assert len({round(g["horizontal_accuracy_m"]) for g in gps}) > 5  # the accuracy figure varies


def test_every_event_fits_its_schema(journey: list[Event], return_journey: list[Event], catalog: Catalog) -> None:
    events = journey + return_journey
    assert {e.stream for e in events} == set(STREAMS)
    for e in events:
        stream = catalog.get(e.stream)
        assert set(e.value) == set(stream.field_names)
        assert validate(e.value, stream.parsed, raise_errors=True)


def test_emergencies_go_through_their_life_cycle(journey: list[Event]) -> None:
    incidents: dict[str, list[dict]] = defaultdict(list)
    for e in journey:
        if e.stream == "emergency":
            incidents[e.value["incident_id"]].append(e.value)
    assert len(incidents) >= 2
    for events in incidents.values():
        assert [v["status"] for v in events] == list(LIFE_CYCLE)  # every journey ran to the end
        times = [v["event_time"] for v in events]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert len({(v["vehicle_id"], v["incident_type"], v["description"], str(v["location"])) for v in events}) == 1
        assert len({v["id"] for v in events}) == len(LIFE_CYCLE)


# --- drift between the simulator and the schemas ---
def _edited_schemas(tmp_path: Path, edit: Callable[[list[dict]], object]) -> Catalog:
    root = tmp_path / "schemas"
    shutil.copytree(load_catalog().root, root)
    schema = json.loads((root / "vehicle.avsc").read_text())
    edit(schema["fields"])
    (root / "vehicle.avsc").write_text(json.dumps(schema))
    return load_catalog(root)


def test_a_schema_field_the_simulator_does_not_know_fails(tmp_path: Path) -> None:
    catalog = _edited_schemas(tmp_path, lambda f: f.append({"name": "odometer_km", "type": "double"}))
    with pytest.raises(SchemaError, match="odometer_km"):
        list(simulate(SimulationConfig(max_steps=1), catalog))


def test_a_simulator_field_the_schema_lost_fails(tmp_path: Path) -> None:
    catalog = _edited_schemas(tmp_path, lambda f: f.remove(next(x for x in f if x["name"] == "make")))
    with pytest.raises(SchemaError, match="make"):
        list(simulate(SimulationConfig(max_steps=1), catalog))


def test_a_new_schema_field_with_a_default_gets_the_default(tmp_path: Path) -> None:
    field = {"name": "colour", "type": ["null", "string"], "default": None}
    catalog = _edited_schemas(tmp_path, lambda f: f.append(field))
    vehicle = next(e for e in simulate(SimulationConfig(max_steps=1), catalog) if e.stream == "vehicle")
    assert vehicle.value["colour"] is None


# --- configuration ---
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"vehicles": 0}, "vehicles"),
        ({"origin": "atlantis"}, "unknown place"),
        ({"destination": "91,0"}, "out of range"),
        ({"origin": "london", "destination": "London"}, "same place"),
        ({"start_time": datetime(2025, 1, 1)}, "timezone-aware"),  # noqa: DTZ001 - the point of the test
        ({"step_seconds": 0}, "step_seconds"),
    ],
)
def test_bad_configuration_is_refused_clearly(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SimulationConfig(**overrides)


def test_coordinates_and_start_time_are_accepted(catalog: Catalog) -> None:
    start = datetime(2025, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)
    config = SimulationConfig(origin="51.75,-1.25", destination=(52.2, 0.12), start_time=start, max_steps=1)
    first = next(iter(simulate(config, catalog)))
    assert first.value["event_time"] == datetime(2025, 6, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert first.value["location"] == {"latitude": 51.75, "longitude": -1.25}


# --- time that never runs ahead: where a journey sits in time ----------------------------------------------

NOW = datetime(2026, 3, 2, 7, 45, tzinfo=UTC)


def _times(config: SimulationConfig, catalog: Catalog) -> list[datetime]:
    return [e.value["event_time"] for e in simulate(config, catalog)]


def test_a_replayed_journey_ends_now_so_no_event_is_in_the_future(catalog: Catalog) -> None:
    config = SimulationConfig(vehicles=2, seed=3, max_steps=300)
    placed = place_journey(config, start=None, end=None, speedup=0, now=NOW, catalog=catalog)
    times = _times(placed, catalog)
    assert max(times) == NOW
    assert min(times) == placed.start_time == NOW - timedelta(seconds=299 * config.step_seconds)


def test_a_journey_ends_at_the_time_given_and_is_the_same_journey_wherever_it_starts(catalog: Catalog) -> None:
    config = SimulationConfig(vehicles=2, seed=3, max_steps=50)
    end = NOW - timedelta(hours=3)
    placed = place_journey(config, start=None, end=end, speedup=20, now=NOW, catalog=catalog)
    events = list(simulate(placed, catalog))
    assert max(e.value["event_time"] for e in events) == end
    again = list(simulate(place_journey(config, start=None, end=end, speedup=0, now=NOW, catalog=catalog), catalog))
    assert [e.value["id"] for e in again] == [e.value["id"] for e in events]


def test_a_live_run_starts_now_and_a_start_given_is_kept(catalog: Catalog) -> None:
    config = SimulationConfig(max_steps=3)
    assert place_journey(config, start=None, end=None, speedup=1, now=NOW).start_time == NOW
    start = NOW - timedelta(days=1)
    assert place_journey(config, start=start, end=None, speedup=0, now=NOW).start_time == start


@pytest.mark.parametrize(
    ("start", "end", "speedup", "message"),
    [
        (NOW, NOW, 0.0, "not both"),
        (None, NOW + timedelta(minutes=1), 10.0, "ahead of the clock"),
    ],
)
def test_a_placement_that_would_run_ahead_is_refused(
    start: datetime | None, end: datetime | None, speedup: float, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        place_journey(SimulationConfig(max_steps=3), start=start, end=end, speedup=speedup, now=NOW)


def test_an_event_ahead_of_the_clock_is_held_until_its_time() -> None:
    clock = [NOW.timestamp() - 1.5]
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    wait_until_due(NOW, wait, lambda: clock[0])
    assert clock[0] >= NOW.timestamp() and all(w <= 0.2 for w in waits)
    waits.clear()
    wait_until_due(NOW - timedelta(seconds=1), wait, lambda: clock[0])
    assert waits == []
