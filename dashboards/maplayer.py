"""How the maps draw: the basemap, pixel-sized markers by status with heading, labels that keep apart.

Superset's deck.gl GeoJSON chart draws circles sized in metres (invisible at a country's zoom), so
vehicles are drawn as icons instead, sized in pixels: an arrow pointing along the heading, in the
colour of the vehicle's status, from the feature's ``marker`` property. Labels are offset by the
feature's ``slot`` (vehicles that stand together get one line each) and drawn on a white background.
Both are the chart's icon and label configuration generators: small functions of the feature that
Superset's frontend evaluates in its sandbox; they compute styling only and read nothing else.
"""

from __future__ import annotations

from typing import Any

from core.places import PLACES
from dashboards.charts import TILES

__all__ = ["map_settings", "marker_svg"]


def marker_svg(color: tuple[int, int, int]) -> str:
    """An arrow (pointing up: north) in ``color`` with a white outline, as an SVG data URI."""
    r, g, b = color
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='64' height='64' viewBox='0 0 64 64'>"
        f"<path d='M32 4 L56 58 L32 44 L8 58 Z' fill='rgb({r},{g},{b})' stroke='white' stroke-width='5'/></svg>"
    )
    return "data:image/svg+xml;charset=utf-8," + svg.replace("<", "%3C").replace(">", "%3E").replace("#", "%23")


_ICONS = """() => ({
  getIcon: f => f.properties.marker ? {url: f.properties.marker, id: f.properties.marker, width: 64, height: 64}
                                    : {url: BLANK, id: 'blank', width: 1, height: 1},
  getIconSize: f => f.properties.marker ? 26 : 0,
  getIconAngle: f => -(f.properties.heading || 0),
  iconSizeUnits: 'pixels',
  iconBillboard: false,
})"""

_LABELS = """() => ({
  getText: f => f.properties.name,
  getTextSize: f => f.properties.marker ? 13 : 11,
  getTextColor: f => f.properties.marker ? [20, 20, 20, 255] : [90, 90, 90, 255],
  getTextPixelOffset: f => [f.properties.marker ? 18 : 8, 16 * (f.properties.slot || 0)],
  getTextAnchor: 'start',
  getTextAlignmentBaseline: 'center',
  textSizeUnits: 'pixels',
  textBackground: true,
  getTextBackgroundColor: f => f.properties.marker ? [255, 255, 255, 230] : [255, 255, 255, 0],
  textBackgroundPadding: [3, 1],
})"""


def _icons() -> str:
    blank = "data:image/svg+xml;charset=utf-8,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E"
    return _ICONS.replace("BLANK", repr(blank))


def map_settings(zoom: float = 6.3) -> dict[str, Any]:
    """The deck.gl GeoJSON chart's settings: colours from each feature, pixel markers, labels, the view."""
    lats = [lat for lat, _ in PLACES.values()]
    lons = [lon for _, lon in PLACES.values()]
    return {
        "geojson": "feature",
        "filled": True,
        "stroked": True,
        "extruded": False,
        "point_radius_scale": 1500,  # towns: a dot of 1.5 km; vehicles are icons sized in pixels
        "line_width": 3,
        "line_width_unit": "pixels",
        # Transparent pickers: each feature's own fillColor and strokeColor apply (an opaque one overrides all).
        "fill_color_picker": {"r": 0, "g": 0, "b": 0, "a": 0},
        "stroke_color_picker": {"r": 0, "g": 0, "b": 0, "a": 0},
        "enable_labels": True,
        "label_property_name": "name",
        "label_size": 12,
        "label_size_unit": "pixels",
        "label_color": {"r": 20, "g": 20, "b": 20, "a": 1},
        "enable_label_javascript_mode": True,
        "label_javascript_config_generator": _LABELS,
        "enable_icons": True,
        "enable_icon_javascript_mode": True,
        "icon_javascript_config_generator": _icons(),
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
