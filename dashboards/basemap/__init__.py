"""The basemap every map of the dashboards draws under its layers, shipped with the project (no tile server).

``gb.geojson`` (land of Great Britain and Ireland, and the main towns; sources and licences in
``LICENSE.md``, remade by ``build.py``) becomes rows of SQL literals, so a map's data holds its basemap and
draws offline (a view beside the lake's in DuckDB, inline ``VALUES`` on Athena, see
:mod:`dashboards.basemap_sql`); map tiles come on top only where a tile server is configured.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["LAND_COLOR", "TOWN_COLOR", "basemap_features"]

_FILE = Path(__file__).with_name("gb.geojson")
LAND_COLOR = [238, 234, 222, 255]
"""Land: a pale sand, so that the coloured markers and tracks stand out."""
LAND_STROKE = [150, 150, 150, 255]
TOWN_COLOR = [90, 90, 90, 255]


@cache
def basemap_features() -> tuple[tuple[str, str, str], ...]:
    """(layer, label, GeoJSON feature as text) of every land polygon and town of the basemap."""
    collection: dict[str, Any] = json.loads(_FILE.read_text(encoding="utf-8"))
    rows = []
    for feature in collection["features"]:
        kind, name = feature["properties"]["kind"], feature["properties"]["name"]
        if kind == "land":
            properties = {"name": "", "fillColor": LAND_COLOR, "strokeColor": LAND_STROKE}
        else:
            properties = {"name": name, "fillColor": TOWN_COLOR, "strokeColor": TOWN_COLOR}
        text = json.dumps({"type": "Feature", "geometry": feature["geometry"], "properties": properties},
                          separators=(",", ":"), ensure_ascii=False)  # fmt: skip
        rows.append((kind, name, text))
    return tuple(rows)
