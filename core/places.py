"""The built-in named places of the journeys: the producer drives between them, the dashboards label them.

Reference data, not a record schema: city centres as (latitude, longitude) in decimal degrees, keyed by
the name the producer's ``--origin``/``--destination`` take.
"""

from __future__ import annotations

__all__ = ["PLACES", "place_title"]

# The first two are the original tutorial's journey.
PLACES: dict[str, tuple[float, float]] = {
    "london": (51.5074, -0.1278),
    "birmingham": (52.4862, -1.8904),
    "manchester": (53.4808, -2.2426),
    "leeds": (53.8008, -1.5491),
    "liverpool": (53.4084, -2.9916),
    "bristol": (51.4545, -2.5879),
    "oxford": (51.7520, -1.2577),
    "cambridge": (52.2053, 0.1218),
    "coventry": (52.4068, -1.5197),
    "milton_keynes": (52.0406, -0.7594),
}


def place_title(name: str) -> str:
    """A place's name as people write it: ``milton_keynes`` -> ``Milton Keynes``."""
    return name.replace("_", " ").title()
