"""The basemap as SQL rows: a view beside the lake's in DuckDB, inline ``VALUES`` on Athena.

The rows are those of :func:`dashboards.basemap.basemap_features` (land and towns) plus the journeys' named places
the basemap lacks, each a ``(layer, label, feature)`` with the feature as GeoJSON text; :func:`town_points` gives
every labelled town's position, for placing labels (:mod:`dashboards.maplayer`).
"""

from __future__ import annotations

import json

from core.places import PLACES, place_title
from core.sql import quote_identifier, quote_literal
from dashboards.basemap import TOWN_COLOR, basemap_features
from dashboards.dialects import SqlDialect

__all__ = ["BASEMAP_VIEW", "basemap_view_sql", "place_rows", "town_points"]

BASEMAP_VIEW = "dashboard_basemap"
"""The view of the basemap's rows beside the lake's views, where the dialect reads it from a view."""


def _extra_places() -> list[tuple[str, float, float]]:
    """(name, latitude, longitude) of the journeys' named places that the basemap's towns lack."""
    towns = {n.lower() for k, n, _ in basemap_features() if k == "town"}
    return [(place_title(n), lat, lon) for n, (lat, lon) in PLACES.items() if place_title(n).lower() not in towns]


def town_points() -> str:
    """SQL rows (town, latitude, longitude) of every labelled town on the maps, as ``VALUES``."""
    points = [(n, *reversed(json.loads(f)["geometry"]["coordinates"])) for k, n, f in basemap_features() if k == "town"]
    rows = [f"({quote_literal(n)}, {lat}, {lon})" for n, lat, lon in [*points, *_extra_places()]]
    return f"SELECT * FROM (VALUES {', '.join(rows)}) AS towns (town, latitude, longitude)"


def _place_values() -> str:
    """SQL rows (layer, label, feature) of the basemap plus the journeys' named places it lacks, as ``VALUES``."""
    rows = [f"({quote_literal(k)}, {quote_literal(n)}, {quote_literal(f)})" for k, n, f in basemap_features()]
    for name, lat, lon in _extra_places():
        feature = json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                              "properties": {"name": name, "fillColor": TOWN_COLOR, "strokeColor": TOWN_COLOR}},
                             separators=(",", ":"))  # fmt: skip
        rows.append(f"('town', {quote_literal(name)}, {quote_literal(feature)})")
    return f"SELECT layer, label, feature FROM (VALUES {', '.join(rows)}) AS basemap (layer, label, feature)"


def place_rows(schema: str, d: SqlDialect) -> str:
    """SQL rows (layer, label, feature) of the basemap and the journeys' places: from its view, or inline.

    Inline, the basemap is 50,000 characters of SQL, which Superset parses several times per query (about
    0.4 s per map); DuckDB reads it from :func:`basemap_view_sql`, which the dashboards' views include.
    """
    if d.dataset_views:
        return f"SELECT layer, label, feature FROM {d.table(schema, BASEMAP_VIEW)}"
    return _place_values()


def basemap_view_sql(schema: str) -> str:
    """The statement that makes the basemap's view in ``schema`` (DuckDB)."""
    return f"CREATE OR REPLACE VIEW {quote_identifier(schema)}.{quote_identifier(BASEMAP_VIEW)} AS {_place_values()}"
