"""Emergencies a vehicle reports on its way, and the life cycle each goes through.

An incident is reported once and then moves REPORTED -> DISPATCHED -> ON_SCENE -> RESOLVED over
later simulation steps; every status change is one event sharing the incident id.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

__all__ = ["EMERGENCY_TYPES", "LIFE_CYCLE", "Incident", "open_incident"]

EMERGENCY_TYPES = ("ACCIDENT", "FIRE", "MEDICAL", "POLICE", "BREAKDOWN")
LIFE_CYCLE = ("REPORTED", "DISPATCHED", "ON_SCENE", "RESOLVED")
# Seconds from one status to the next (uniform between the bounds): dispatch, travel, work on scene.
_DELAYS_S = ((30.0, 180.0), (240.0, 900.0), (600.0, 2400.0))
_DESCRIPTIONS = {
    "ACCIDENT": ("Two-car collision, lane blocked", "Vehicle left the carriageway", "Minor shunt in slow traffic"),
    "FIRE": ("Vehicle fire on the hard shoulder", "Smoke from a lorry's trailer"),
    "MEDICAL": ("Driver taken ill at the wheel", "Passenger needs an ambulance"),
    "POLICE": ("Dangerous driving reported", "Debris on the carriageway"),
    "BREAKDOWN": ("Broken-down car in a live lane", "Tyre blow-out, vehicle stopped"),
}
_NO_DESCRIPTION = 0.2  # share of incidents reported without a description


@dataclass
class Incident:
    """One open incident and the steps at which its statuses fall due (mutable simulation state).

    Attributes:
        incident_id: shared by every status event of the incident.
        incident_type: one of :data:`EMERGENCY_TYPES`.
        location: (latitude, longitude) where it was reported.
        description: free text, or None.
        due_steps: the step at which each status of :data:`LIFE_CYCLE` is reported.
        reported: how many statuses have been reported so far.
    """

    incident_id: str
    incident_type: str
    location: tuple[float, float]
    description: str | None
    due_steps: tuple[int, ...]
    reported: int = field(default=0)

    @property
    def resolved(self) -> bool:
        """True once every status has been reported."""
        return self.reported >= len(LIFE_CYCLE)

    def next_status(self, step: int) -> str | None:
        """The status to report at ``step``, if one falls due; at most one per step, in order."""
        if self.resolved or step < self.due_steps[self.reported]:
            return None
        status = LIFE_CYCLE[self.reported]
        self.reported += 1
        return status


def open_incident(
    rng: random.Random, incident_id: str, step: int, step_seconds: float, location: tuple[float, float]
) -> Incident:
    """A new incident reported at ``step``, with its later statuses scheduled at least one step apart."""
    incident_type = rng.choice(EMERGENCY_TYPES)
    description = None if rng.random() < _NO_DESCRIPTION else rng.choice(_DESCRIPTIONS[incident_type])
    due = [step]
    for low, high in _DELAYS_S:
        due.append(due[-1] + max(1, math.ceil(rng.uniform(low, high) / step_seconds)))
    return Incident(
        incident_id=incident_id,
        incident_type=incident_type,
        location=location,
        description=description,
        due_steps=tuple(due),
    )
