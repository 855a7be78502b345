"""Weather that changes smoothly over time and space: a sum of slow waves with seeded phases.

Two vehicles close together see nearly the same weather, and one vehicle sees it drift over minutes,
not jump between steps.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

__all__ = ["WeatherField"]

_TWO_PI = 2.0 * math.pi
# (period in hours, wavelength in degrees) of each wave, from weather-front scale to local showers.
_SCALES = ((30.0, 6.0), (9.0, 2.2), (2.5, 0.7))


@dataclass(frozen=True)
class _Wave:
    omega: float  # radians per second
    k_lat: float  # radians per degree of latitude
    k_lon: float
    phase: float
    weight: float


def _waves(rng: random.Random) -> tuple[_Wave, ...]:
    waves = []
    for i, (hours, wavelength) in enumerate(_SCALES):
        angle = rng.uniform(0.0, _TWO_PI)
        k = _TWO_PI / wavelength
        waves.append(
            _Wave(
                omega=_TWO_PI / (hours * 3600.0),
                k_lat=k * math.cos(angle),
                k_lon=k * math.sin(angle),
                phase=rng.uniform(0.0, _TWO_PI),
                weight=1.0 / (i + 1),
            )
        )
    return tuple(waves)


class WeatherField:
    """Weather as a deterministic, smooth function of (time, latitude, longitude) for one seed."""

    def __init__(self, seed: int) -> None:
        """Draw the phases and directions of every component's waves from ``seed``."""
        rng = random.Random(f"weather:{seed}")  # noqa: S311 - a seeded simulation, not cryptography
        # Plain tuples, weights normalised to sum 1: this runs for every weather event.
        self._components: dict[str, tuple[tuple[float, float, float, float, float], ...]] = {}
        for name in ("temperature", "cloud", "wet", "wind", "air", "sensor"):
            waves = _waves(rng)
            weights = sum(w.weight for w in waves)
            self._components[name] = tuple((w.omega, w.k_lat, w.k_lon, w.phase, w.weight / weights) for w in waves)
        self._base_c = rng.uniform(6.0, 16.0)

    def _noise(self, name: str, t: float, lat: float, lon: float) -> float:
        """A smooth value in [-1, 1]."""
        total = 0.0
        for omega, k_lat, k_lon, phase, weight in self._components[name]:
            total += weight * math.sin(omega * t + k_lat * lat + k_lon * lon + phase)
        return total

    def at(self, epoch_seconds: float, lat: float, lon: float) -> dict[str, Any]:
        """The observation at a time (seconds since the Unix epoch) and place, keyed by schema field name."""
        hour = (epoch_seconds % 86_400.0) / 3600.0
        diurnal = math.sin(_TWO_PI * (hour - 9.0) / 24.0)  # warmest mid-afternoon UTC
        temperature = (
            self._base_c
            + 5.0 * diurnal
            - 0.8 * (lat - 51.5)
            + 4.0 * self._noise("temperature", epoch_seconds, lat, lon)
        )
        cloud = 0.5 + 0.5 * self._noise("cloud", epoch_seconds, lat, lon)
        wet = self._noise("wet", epoch_seconds, lat, lon)
        precipitation = 14.0 * max(0.0, wet - 0.45) * cloud
        humidity = min(100.0, max(20.0, 55.0 + 25.0 * cloud + 30.0 * max(0.0, wet) - 0.8 * (temperature - 10.0)))
        wind = max(0.0, 16.0 + 12.0 * self._noise("wind", epoch_seconds, lat, lon) + 14.0 * max(0.0, wet))
        if precipitation > 0.2:
            if temperature <= 0.5:
                condition = "SNOW"
            elif precipitation > 6.0 and wind > 30.0:
                condition = "STORM"
            else:
                condition = "RAIN"
        elif humidity >= 97.0 and wind < 10.0:
            condition = "FOG"
        elif cloud > 0.6:
            condition = "CLOUDY"
        else:
            condition = "CLEAR"
        # The roadside sensor drops out in spells (null), as real ones do.
        sensor = self._noise("sensor", epoch_seconds, lat, lon)
        air = None if sensor > 0.75 else round(45.0 + 35.0 * self._noise("air", epoch_seconds, lat, lon) + 10.0 * cloud)
        return {
            "temperature_c": round(temperature, 2),
            "condition": condition,
            "precipitation_mm": round(precipitation, 2),
            "wind_speed_kmh": round(wind, 2),
            "humidity_pct": round(humidity, 2),
            "air_quality_index": air,
        }
