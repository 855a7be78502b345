"""How the maps draw: every feature in its own colour, labels in pixels, the view over the journeys' places.

Colours come from each feature (the basemap's land and towns, a track per vehicle, an arrow per vehicle
in its status colour; see :mod:`dashboards.fleet`). Superset's deck.gl GeoJSON chart sizes shapes in
metres; its icon and label generators (pixel icons, label offsets) are JavaScript that its content
security policy does not let run, so vehicles are arrows drawn as polygons and labels are plain text.
"""

from __future__ import annotations

from typing import Any

from core.places import PLACES
from dashboards.charts import TILES

__all__ = ["LABEL_PX", "ZOOM", "label_clashes", "map_settings", "pixels_per_degree"]

ZOOM = 6.3
"""The maps' zoom when a dashboard opens: England and Wales in view."""
LABEL_PX = 13
"""Labels' font size in pixels."""
_CHAR_PX = 0.6 * LABEL_PX
"""A label's width per character (deck.gl's labels: 7.8 px at 13 px, measured on a screenshot)."""
_GAP_PX = 4


def pixels_per_degree(zoom: float = ZOOM) -> float:
    """Screen pixels per degree of longitude at ``zoom`` (deck.gl's world is 512 px wide at zoom 0).

    A degree of latitude at latitude φ is this divided by cos(φ) (Web Mercator).
    """
    return 512 * 2**zoom / 360


def label_clashes(a: tuple[str, str, str], b: tuple[str, str, str]) -> str:
    """SQL: whether two labels, each (text, latitude, longitude) centred on its point, overlap at the first zoom."""
    px = pixels_per_degree()
    wide = f"abs({a[2]} - {b[2]}) * {px} < (length({a[0]}) + length({b[0]})) * {_CHAR_PX / 2} + {_GAP_PX}"
    high = f"abs({a[1]} - {b[1]}) * {px} / cos(radians({a[1]})) < {LABEL_PX + _GAP_PX}"
    return f"({wide} AND {high})"


def map_settings(zoom: float = ZOOM) -> dict[str, Any]:
    """The deck.gl GeoJSON chart's settings: colours from each feature, pixel markers, labels, the view."""
    lats = [lat for lat, _ in PLACES.values()]
    lons = [lon for _, lon in PLACES.values()]
    return {
        "geojson": "feature",
        "filled": True,
        "stroked": True,
        "extruded": False,
        "point_radius_scale": 2500,  # a dot of 2.5 km under a town or a vehicle label
        "line_width": 3,
        "line_width_unit": "pixels",
        # Transparent pickers: each feature's own fillColor and strokeColor apply (an opaque one overrides all).
        "fill_color_picker": {"r": 0, "g": 0, "b": 0, "a": 0},
        "stroke_color_picker": {"r": 0, "g": 0, "b": 0, "a": 0},
        "enable_labels": True,
        "label_property_name": "name",
        "label_size": LABEL_PX,
        "label_size_unit": "pixels",
        "label_color": {"r": 20, "g": 20, "b": 20, "a": 1},
        "mapbox_style": TILES,
        "autozoom": False,
        "viewport": {
            "latitude": (min(lats) + max(lats)) / 2,
            "longitude": (min(lons) + max(lons)) / 2,
            "zoom": zoom,
            "bearing": 0,
            "pitch": 0,
        },
    }
