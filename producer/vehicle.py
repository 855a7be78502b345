"""One simulated vehicle: how it drives along the route, and the facts it reports at each step.

The state is mutable and private to the simulator; every random draw comes from the vehicle's own
seeded generator, so a vehicle's events do not depend on which other vehicles are simulated with it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from producer.geo import Coordinates, Route, bearing_deg, displace

__all__ = ["Driver", "VehicleSpec", "new_uuid", "where"]

# (make, model, fuel type, first model year)
_MODELS = (
    ("BMW", "330e", "HYBRID", 2016),
    ("Ford", "Focus", "PETROL", 2012),
    ("Tesla", "Model 3", "ELECTRIC", 2018),
    ("Volkswagen", "Golf", "DIESEL", 2013),
    ("Toyota", "Prius", "HYBRID", 2012),
    ("Vauxhall", "Corsa", "PETROL", 2014),
    ("Nissan", "Leaf", "ELECTRIC", 2015),
    ("Mercedes-Benz", "C300", "DIESEL", 2015),
    ("Dacia", "Sandero", "LPG", 2017),
)
_LAST_MODEL_YEAR = 2025
_URBAN_M = 8_000.0  # town driving near either end of the route
_URBAN_MS = 48.0 / 3.6
_MIN_MS = 2.0  # crawling speed: a vehicle always gets there
_ARRIVAL_DECEL = 1.5  # m/s^2 of a comfortable stop at the destination
_BRAKE = 3.0  # m/s^2
_CONGESTION_EVERY_S = 1200.0  # mean time between traffic jams


def new_uuid(rng: random.Random) -> str:
    """A version-4 UUID string drawn from ``rng`` (deterministic, unlike ``uuid.uuid4``)."""
    n = rng.getrandbits(128)
    n = (n & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def where(point: Coordinates) -> dict[str, float]:
    """A point as the schemas' ``Location`` record, to 7 decimals (about a centimetre)."""
    return {"latitude": round(point[0], 7), "longitude": round(point[1], 7)}


@dataclass(frozen=True)
class VehicleSpec:
    """What does not change during a journey: the vehicle and its driver's habits."""

    vehicle_id: str
    make: str
    model: str
    year: int
    fuel_type: str
    cruise_ms: float
    accel_ms2: float

    @classmethod
    def draw(cls, rng: random.Random) -> VehicleSpec:
        """A random vehicle from the built-in models."""
        make, model, fuel, first_year = rng.choice(_MODELS)
        return cls(
            vehicle_id=new_uuid(rng),
            make=make,
            model=model,
            year=rng.randint(first_year, _LAST_MODEL_YEAR),
            fuel_type=fuel,
            cruise_ms=rng.uniform(95.0, 125.0) / 3.6,
            accel_ms2=rng.uniform(1.2, 2.5),
        )


class Driver:
    """Drives one vehicle along a route and states what its sensors see at each step."""

    def __init__(self, rng: random.Random, route: Route, spec: VehicleSpec) -> None:
        """Place ``spec``'s vehicle at the start of ``route``, standing still; ``rng`` drives the journey."""
        self.rng = rng
        self.route = route
        self.spec = spec
        self.travelled_m = 0.0
        self.speed_ms = 0.0
        self.position: Coordinates = route.origin
        self.heading = bearing_deg(route.points[0], route.points[1])
        self.arrived = False
        self._jam_until_s = -1.0
        self._jam_ms = 0.0
        self._accuracy_m = rng.uniform(3.0, 8.0)

    def advance(self, now_s: float, dt: float) -> float:
        """Drive for ``dt`` seconds (``now_s`` is the journey clock); returns the distance covered before."""
        before = self.travelled_m
        remaining = self.route.length_m - before
        rng = self.rng
        if now_s >= self._jam_until_s and rng.random() < dt / _CONGESTION_EVERY_S:
            self._jam_until_s = now_s + rng.uniform(60.0, 600.0)
            self._jam_ms = rng.uniform(10.0, 50.0) / 3.6
        target = self.spec.cruise_ms * rng.uniform(0.97, 1.03)
        if before < _URBAN_M or remaining < _URBAN_M:
            target = min(target, _URBAN_MS)
        if now_s < self._jam_until_s:
            target = min(target, self._jam_ms)
        target = max(_MIN_MS, min(target, math.sqrt(2.0 * _ARRIVAL_DECEL * remaining)))
        old = self.speed_ms
        if old < target:
            new = min(target, old + self.spec.accel_ms2 * dt)
        else:
            new = max(target, old - _BRAKE * dt)
        self.travelled_m = before + 0.5 * (old + new) * dt
        self.speed_ms = new
        if self.travelled_m >= self.route.length_m - 0.5:
            self.travelled_m = self.route.length_m
            self.speed_ms = 0.0
            self.arrived = True
        previous = self.position
        self.position = self.route.position_at(self.travelled_m)
        if self.travelled_m - before > 0.5:
            self.heading = bearing_deg(previous, self.position)
        return before

    def vehicle_facts(self) -> dict[str, Any]:
        """The vehicle's own report (identity fields are added by the caller)."""
        spec = self.spec
        return {
            "location": where(self.position),
            "speed_kmh": round(self.speed_ms * 3.6, 2),
            "direction_deg": round(self.heading, 2) % 360.0,
            "make": spec.make,
            "model": spec.model,
            "year": spec.year,
            "fuel_type": spec.fuel_type,
        }

    def gps_facts(self) -> dict[str, Any]:
        """A GPS fix: the true position blurred by an accuracy that wanders and sometimes degrades."""
        rng = self.rng
        self._accuracy_m = min(25.0, max(2.0, self._accuracy_m + rng.gauss(0.0, 0.8)))
        accuracy = self._accuracy_m * (rng.uniform(2.0, 3.0) if rng.random() < 0.02 else 1.0)
        satellites = min(14, max(4, int(16.0 - accuracy / 2.0) + rng.randint(-1, 1)))
        fix = displace(self.position, rng.gauss(0.0, accuracy), rng.gauss(0.0, accuracy))
        ground_m = 100.0 + 60.0 * math.sin(self.travelled_m / 15_000.0)
        moving = self.speed_ms > 1.0
        return {
            "location": where(fix),
            "speed_kmh": round(max(0.0, self.speed_ms * 3.6 + rng.gauss(0.0, 0.6 if moving else 0.1)), 2),
            "direction_deg": round((self.heading + rng.gauss(0.0, 2.0 if moving else 15.0)) % 360.0, 2) % 360.0,
            "horizontal_accuracy_m": round(accuracy, 2),
            "satellites": satellites,
            "altitude_m": None if satellites < 6 else round(ground_m + rng.gauss(0.0, min(20.0, 1.5 * accuracy)), 1),
        }
