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

__all__ = ["map_settings"]


def map_settings(zoom: float = 6.3) -> dict[str, Any]:
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
        "label_size": 13,
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
