"""Geometry of a journey: named places, great-circle distances and bearings, and a route to follow.

Pure functions on WGS84 coordinates in decimal degrees; distances in metres. A spherical Earth is
plenty for a simulator (the error against the ellipsoid is under 0.5 %).
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass

from core.errors import ConfigError
from core.places import PLACES

__all__ = [
    "EARTH_RADIUS_M",
    "PLACES",
    "Coordinates",
    "Route",
    "bearing_deg",
    "build_route",
    "displace",
    "distance_m",
    "resolve_place",
]

Coordinates = tuple[float, float]
"""(latitude, longitude) in decimal degrees."""

EARTH_RADIUS_M = 6_371_008.8


def resolve_place(place: str | Coordinates) -> Coordinates:
    """A named place (``london``, ``Milton Keynes``), ``"lat,lon"`` text or a (lat, lon) pair as coordinates.

    Raises:
        ConfigError: the name is unknown or the coordinates are malformed or out of range.
    """
    if isinstance(place, str):
        key = place.strip().lower().replace(" ", "_").replace("-", "_")
        if key in PLACES:
            return PLACES[key]
        parts = place.split(",")
        if len(parts) != 2:
            msg = f"unknown place {place!r}; give one of {', '.join(PLACES)} or 'latitude,longitude'"
            raise ConfigError(msg)
        try:
            lat, lon = float(parts[0]), float(parts[1])
        except ValueError as exc:
            msg = f"place {place!r} is neither a known name nor 'latitude,longitude' in decimal degrees"
            raise ConfigError(msg) from exc
    else:
        lat, lon = float(place[0]), float(place[1])
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or math.isnan(lat) or math.isnan(lon):
        msg = f"coordinates ({lat}, {lon}) are out of range: latitude -90..90, longitude -180..180"
        raise ConfigError(msg)
    return (lat, lon)


def distance_m(a: Coordinates, b: Coordinates) -> float:
    """Great-circle (haversine) distance between two points, in metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(a: Coordinates, b: Coordinates) -> float:
    """Initial bearing from ``a`` to ``b`` in degrees clockwise from true north, in [0, 360)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    dlon = lon2 - lon1
    x = math.sin(dlon) * math.cos(lat2)
    y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlon)
    return math.degrees(math.atan2(x, y)) % 360.0


def displace(point: Coordinates, north_m: float, east_m: float) -> Coordinates:
    """The point ``north_m`` metres north and ``east_m`` metres east of ``point`` (small offsets)."""
    lat, lon = point
    dlat = math.degrees(north_m / EARTH_RADIUS_M)
    dlon = math.degrees(east_m / (EARTH_RADIUS_M * max(1e-9, math.cos(math.radians(lat)))))
    return (max(-90.0, min(90.0, lat + dlat)), (lon + dlon + 180.0) % 360.0 - 180.0)


def _great_circle_point(a: Coordinates, b: Coordinates, fraction: float) -> Coordinates:
    """The point ``fraction`` of the way from ``a`` to ``b`` along the great circle."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    delta = distance_m(a, b) / EARTH_RADIUS_M
    if delta < 1e-12:
        return a
    s1 = math.sin((1 - fraction) * delta) / math.sin(delta)
    s2 = math.sin(fraction * delta) / math.sin(delta)
    x = s1 * math.cos(lat1) * math.cos(lon1) + s2 * math.cos(lat2) * math.cos(lon2)
    y = s1 * math.cos(lat1) * math.sin(lon1) + s2 * math.cos(lat2) * math.sin(lon2)
    z = s1 * math.sin(lat1) + s2 * math.sin(lat2)
    return (math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x)))


@dataclass(frozen=True)
class Route:
    """A polyline from origin to destination, walked by distance travelled.

    Attributes:
        points: the vertices, origin first and destination last.
        cumulative_m: distance from the origin to each vertex (first is 0, last is the length).
    """

    points: tuple[Coordinates, ...]
    cumulative_m: tuple[float, ...]

    @property
    def length_m(self) -> float:
        """Total length of the route in metres."""
        return self.cumulative_m[-1]

    @property
    def origin(self) -> Coordinates:
        """Where the route starts."""
        return self.points[0]

    @property
    def destination(self) -> Coordinates:
        """Where the route ends."""
        return self.points[-1]

    def position_at(self, travelled_m: float) -> Coordinates:
        """The point ``travelled_m`` metres along the route (clamped to its ends)."""
        if travelled_m <= 0.0:
            return self.points[0]
        if travelled_m >= self.length_m:
            return self.points[-1]
        i = bisect.bisect_right(self.cumulative_m, travelled_m) - 1
        start, end = self.cumulative_m[i], self.cumulative_m[i + 1]
        f = (travelled_m - start) / (end - start) if end > start else 0.0
        (lat1, lon1), (lat2, lon2) = self.points[i], self.points[i + 1]
        return (lat1 + (lat2 - lat1) * f, lon1 + (lon2 - lon1) * f)


def build_route(origin: Coordinates, destination: Coordinates, *, vertices: int = 48) -> Route:
    """A road-like route: the great circle with a gentle sideways meander, through ``vertices`` points.

    The shape depends only on the two end points, and the route from B to A is the route from A to
    B reversed, so both directions pass the same traffic cameras.
    """
    if distance_m(origin, destination) < 1.0:
        msg = f"origin and destination are the same place {origin}; give two different places"
        raise ConfigError(msg)
    forward = origin <= destination
    a, b = (origin, destination) if forward else (destination, origin)
    total = distance_m(a, b)
    # Sideways offsets that vanish at both ends: two sine bends, amplitude ~3 % of the distance.
    amplitude = 0.03 * total
    points: list[Coordinates] = [a]
    for k in range(1, vertices - 1):
        f = k / (vertices - 1)
        centre = _great_circle_point(a, b, f)
        side = amplitude * (math.sin(math.pi * f) * 0.7 + math.sin(3 * math.pi * f) * 0.3)
        heading = math.radians(bearing_deg(centre, b)) + math.pi / 2
        points.append(displace(centre, side * math.cos(heading), side * math.sin(heading)))
    points.append(b)
    if not forward:
        points.reverse()
    cumulative = [0.0]
    for p, q in itertools.pairwise(points):
        cumulative.append(cumulative[-1] + distance_m(p, q))
    return Route(points=tuple(points), cumulative_m=tuple(cumulative))
