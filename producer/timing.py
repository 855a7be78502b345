"""Where a journey sits in time, so that no event is stamped later than the moment it is sent.

A journey replayed faster than real time (``--speedup`` above 1, or 0 for no pacing) is placed so that
it *ends* at a given time, now by default: every event is then in the past when it is sent. A live run
(``--speedup 1``) starts now and keeps pace with the clock. :func:`wait_until_due` is the last guard at
the edge: the producer holds an event whose time has not come yet instead of sending it early.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from core.catalog import Catalog
from core.errors import ConfigError
from producer.simulator import SimulationConfig, simulate

__all__ = ["journey_duration", "place_journey", "wait_until_due"]


def journey_duration(config: SimulationConfig, catalog: Catalog | None = None) -> timedelta:
    """Simulated time from the journey's first event to its last (the whole fleet, ``max_steps`` applied)."""
    last = config.start_time
    for event in simulate(config, catalog):
        last = max(last, event.value["event_time"])
    return last - config.start_time


def place_journey(
    config: SimulationConfig,
    *,
    start: datetime | None,
    end: datetime | None,
    speedup: float,
    now: datetime | None = None,
    catalog: Catalog | None = None,
) -> SimulationConfig:
    """``config`` moved in time: starting at ``start``, ending at ``end``, or by default as the pace asks.

    By default a live run (``speedup`` 1) starts now and a replay (any other pace) ends now. A journey
    placed by its end is keyed by that end (``trip``), so its events do not depend on where its start falls.

    Raises:
        ConfigError: both a start and an end, or an end that lies ahead of a replay's clock.
    """
    now = now or datetime.now(UTC).replace(microsecond=0)
    if start is not None and end is not None:
        msg = "give --start or --end, not both: the journey's length decides the other"
        raise ConfigError(msg)
    if start is not None:
        return dataclasses.replace(config, start_time=start)
    if end is None:
        if speedup == 1:
            return dataclasses.replace(config, start_time=now)
        end = now
    if end > now and speedup != 1:
        msg = (
            f"--end {end.isoformat()} is after now: a journey replayed faster than real time would send events "
            "ahead of the clock; give a time in the past, or --start with --speedup 1 for a live run"
        )
        raise ConfigError(msg)
    keyed = dataclasses.replace(config, start_time=end, trip=f"ends:{end.isoformat()}")
    return dataclasses.replace(keyed, start_time=end - journey_duration(keyed, catalog))


def wait_until_due(
    event_time: datetime, wait: Callable[[float], object], clock: Callable[[], float] = time.time
) -> None:
    """Call ``wait(seconds)`` until the wall clock has reached ``event_time`` (returns at once for a past event)."""
    due = event_time.timestamp()
    while (ahead := due - clock()) > 0:
        wait(min(ahead, 0.2))
