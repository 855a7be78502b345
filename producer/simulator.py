"""The journey simulator: a fleet driving from an origin to a destination, as five event streams.

Pure and deterministic: no clock, no I/O beyond reading the schema catalog; the same configuration
(seed included) gives the same events, byte for byte. Records are shaped by the schemas (see
:mod:`producer.records`), so they are exactly what fastavro's writer expects.

Not for load beyond one process: a pure-Python simulator makes some tens of thousands of events per
second; the producer's ``--workers`` option splits the fleet across processes for more.
"""

from __future__ import annotations

import bisect
import random
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from core.catalog import Catalog, load_catalog
from core.errors import ConfigError
from producer.geo import Coordinates, Route, build_route, resolve_place
from producer.incidents import Incident, open_incident
from producer.media import PNG_MEDIA_TYPE, dummy_png
from producer.records import builders_for
from producer.vehicle import Driver, VehicleSpec, new_uuid, where
from producer.weather import WeatherField

__all__ = ["STREAMS", "Camera", "Event", "SimulationConfig", "cameras_along", "simulate"]

STREAMS = ("vehicle", "gps", "traffic", "weather", "emergency")
"""The entities the simulator emits, as named in ``schemas/streams.toml``."""

_DEFAULT_START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate.

    Attributes:
        vehicles: size of the fleet.
        seed: everything random derives from it.
        origin: a named place (see :data:`producer.geo.PLACES`), ``"lat,lon"`` or a (lat, lon) pair.
        destination: as ``origin``.
        start_time: simulated time of departure; timezone-aware, stored in UTC to the millisecond.
        step_seconds: simulated seconds between two reports of a vehicle.
        max_steps: stop after this many steps even if vehicles are still driving; None runs to arrival.
        camera_spacing_m: distance between two traffic cameras along the route.
        emergency_probability: chance per vehicle and step that the vehicle reports an emergency.
        trip: names the journey for its random draws (event ids, speeds, incidents); empty names it by
            ``start_time``. :func:`producer.timing.ending_at` keys a journey by its end, so moving its start
            to make it end on time does not change the journey.
    """

    vehicles: int = 3
    seed: int = 42
    origin: str | Coordinates = "london"
    destination: str | Coordinates = "birmingham"
    start_time: datetime = _DEFAULT_START
    step_seconds: float = 5.0
    max_steps: int | None = None
    camera_spacing_m: float = 4_000.0
    emergency_probability: float = 0.001
    trip: str = ""
    _route: Route = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.vehicles < 1:
            msg = f"vehicles must be at least 1, got {self.vehicles}"
            raise ConfigError(msg)
        if not self.step_seconds > 0:
            msg = f"step_seconds must be positive, got {self.step_seconds}"
            raise ConfigError(msg)
        if self.max_steps is not None and self.max_steps < 0:
            msg = f"max_steps must be at least 0 or None, got {self.max_steps}"
            raise ConfigError(msg)
        if not self.camera_spacing_m > 0:
            msg = f"camera_spacing_m must be positive, got {self.camera_spacing_m}"
            raise ConfigError(msg)
        if not 0.0 <= self.emergency_probability <= 1.0:
            msg = f"emergency_probability must be between 0 and 1, got {self.emergency_probability}"
            raise ConfigError(msg)
        if self.start_time.tzinfo is None or self.start_time.utcoffset() is None:
            msg = f"start_time must be timezone-aware (UTC), got naive {self.start_time.isoformat()}"
            raise ConfigError(msg)
        start = self.start_time.astimezone(UTC)
        object.__setattr__(self, "start_time", start.replace(microsecond=start.microsecond // 1000 * 1000))
        object.__setattr__(self, "_route", build_route(resolve_place(self.origin), resolve_place(self.destination)))

    @property
    def route(self) -> Route:
        """The road from origin to destination."""
        return self._route


@dataclass(frozen=True)
class Event:
    """One record to produce.

    Attributes:
        stream: the entity (``vehicle``, ``gps``, ``traffic``, ``weather``, ``emergency``).
        key: the id of the vehicle that reported it (the producer keys messages by the stream's ``key`` field).
        value: the record, as fastavro's writer expects it for the stream's schema.
    """

    stream: str
    key: str
    value: dict[str, Any]


@dataclass(frozen=True)
class Camera:
    """A traffic camera beside the route."""

    camera_id: str
    distance_m: float
    location: Coordinates


def cameras_along(route: Route, spacing_m: float) -> tuple[Camera, ...]:
    """Cameras every ``spacing_m`` metres; the same cameras (ids and places) whichever way the route runs."""
    ends = sorted((route.origin, route.destination))
    code = zlib.crc32(repr(ends).encode()) % 1000
    forward = route.origin <= route.destination
    length = route.length_m
    cameras = []
    k = 0
    while (along := spacing_m / 2 + k * spacing_m) < length:
        distance = along if forward else length - along
        cameras.append(Camera(f"CAM-{code:03d}-{k + 1:04d}", distance, route.position_at(distance)))
        k += 1
    return tuple(sorted(cameras, key=lambda c: c.distance_m))


def simulate(
    config: SimulationConfig, catalog: Catalog | None = None, *, vehicle_indices: Sequence[int] | None = None
) -> Iterator[Event]:
    """The events of the journey, step by step, in simulated-time order.

    Args:
        config: what to simulate.
        catalog: the schema catalog; loaded from ``schemas/`` by default.
        vehicle_indices: simulate only these vehicles of the fleet (0-based); each vehicle's events are
            the same as in a full run, so processes can split a fleet without changing its events.

    Yields:
        Per step and vehicle: a vehicle event, a GPS fix, a traffic snapshot per camera passed, the
        weather, and the status events of the vehicle's emergencies that fall due.
    """
    catalog = catalog or load_catalog()
    for name in STREAMS:
        catalog.get(name)  # a clear error if the mapping lacks one of the simulated entities
    indices = range(config.vehicles) if vehicle_indices is None else vehicle_indices
    for i in indices:
        if not 0 <= i < config.vehicles:
            msg = f"vehicle index {i} is outside the fleet of {config.vehicles}"
            raise ConfigError(msg)
    world = _World(config, catalog)
    fleet = [_Journey(config, i) for i in indices]
    step = 0
    while any(not j.done for j in fleet) and (config.max_steps is None or step < config.max_steps):
        offset_s = round(step * config.step_seconds, 3)
        now = config.start_time + timedelta(seconds=offset_s)
        for journey in fleet:
            if not journey.done:
                yield from world.step(journey, step, offset_s, now)
        step += 1


class _Journey:
    """A driver plus its open incident; done once arrived with nothing left to report."""

    __slots__ = ("driver", "incident", "rng")

    def __init__(self, config: SimulationConfig, index: int) -> None:
        # Seeded simulation, not cryptography. The vehicle depends on the seed and its place in the fleet
        # only (the same car drives back); the journey's draws and event ids depend on the whole trip.
        spec = VehicleSpec.draw(random.Random(f"vehicle:{config.seed}:{index}"))  # noqa: S311
        name = config.trip or str(config.start_time)
        trip = f"journey:{config.seed}:{index}:{config.route.origin}:{config.route.destination}:{name}"
        self.rng = random.Random(trip)  # noqa: S311
        self.driver = Driver(self.rng, config.route, spec)
        self.incident: Incident | None = None

    @property
    def done(self) -> bool:
        return self.driver.arrived and self.incident is None


class _World:
    """What every vehicle shares: the route's cameras, the weather, the record builders."""

    def __init__(self, config: SimulationConfig, catalog: Catalog) -> None:
        self.config = config
        self.cameras = cameras_along(config.route, config.camera_spacing_m)
        self.camera_at = [c.distance_m for c in self.cameras]
        self.weather = WeatherField(config.seed)
        self.start_epoch = config.start_time.timestamp()
        self.builders = builders_for(catalog)

    def step(self, journey: _Journey, step: int, offset_s: float, now: datetime) -> Iterator[Event]:
        """One vehicle's events of one step."""
        driver, rng, build = journey.driver, journey.rng, self.builders
        vid = driver.spec.vehicle_id
        if not driver.arrived:
            before = driver.advance(offset_s, self.config.step_seconds) if step else 0.0
            head = {"id": new_uuid(rng), "vehicle_id": vid, "event_time": now}
            yield Event("vehicle", vid, build["vehicle"].build(head | driver.vehicle_facts()))
            head = {"id": new_uuid(rng), "vehicle_id": vid, "event_time": now}
            yield Event("gps", vid, build["gps"].build(head | driver.gps_facts()))
            c = bisect.bisect_right(self.camera_at, before)
            while c < len(self.cameras) and self.camera_at[c] <= driver.travelled_m:
                camera = self.cameras[c]
                c += 1
                facts = {
                    "id": new_uuid(rng),
                    "vehicle_id": vid,
                    "event_time": now,
                    "camera_id": camera.camera_id,
                    "location": where(camera.location),
                    "snapshot": dummy_png(rng, shade=now.hour * 10),
                    "media_type": PNG_MEDIA_TYPE,
                }
                yield Event("traffic", vid, build["traffic"].build(facts))
            lat, lon = driver.position
            facts = {"id": new_uuid(rng), "vehicle_id": vid, "event_time": now, "location": where((lat, lon))}
            observed = self.weather.at(self.start_epoch + offset_s, lat, lon)
            yield Event("weather", vid, build["weather"].build(facts | observed))
            if journey.incident is None and rng.random() < self.config.emergency_probability:
                journey.incident = open_incident(rng, new_uuid(rng), step, self.config.step_seconds, driver.position)
        incident = journey.incident
        if incident is not None and (status := incident.next_status(step)) is not None:
            facts = {
                "id": new_uuid(rng),
                "vehicle_id": vid,
                "event_time": now,
                "incident_id": incident.incident_id,
                "location": where(incident.location),
                "incident_type": incident.incident_type,
                "status": status,
                "description": incident.description,
            }
            yield Event("emergency", vid, build["emergency"].build(facts))
            if incident.resolved:
                journey.incident = None
