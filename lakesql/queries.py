"""Built-in queries over the lake, written once in SQL that both DuckDB and Athena (Trino) run.

The tables are addressed as ``{database}.<table>``: in Athena that is the Glue database, locally it
is a DuckDB schema of the same name holding the views. docs/athena-queries.md shows the same text;
a unit test keeps the two equal. When not to use them: they scan every partition; in Athena, add
``WHERE dt >= '2025-01-01'`` (partition projection prunes by ``dt``) on a large lake.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import CatalogError

__all__ = ["QUERIES", "NamedQuery", "named_query"]


@dataclass(frozen=True)
class NamedQuery:
    """A query users run by name: ``python -m lakesql query --name <name>``."""

    name: str
    title: str
    sql: str

    def render(self, database: str) -> str:
        """The SQL for a database (a Glue database in Athena, a DuckDB schema locally)."""
        return self.sql.replace("{database}", database)


QUERIES: tuple[NamedQuery, ...] = (
    NamedQuery(
        "events-per-vehicle-hour",
        "Vehicle events per vehicle per hour",
        """SELECT vehicle_id,
       date_trunc('hour', event_time) AS event_hour,
       count(*) AS events
FROM {database}.vehicle
GROUP BY 1, 2
ORDER BY 1, 2""",
    ),
    NamedQuery(
        "speed-per-hour",
        "Average speed per hour, all vehicles",
        """SELECT date_trunc('hour', event_time) AS event_hour,
       count(*) AS events,
       round(avg(speed_kmh), 1) AS avg_speed_kmh,
       round(max(speed_kmh), 1) AS max_speed_kmh
FROM {database}.vehicle
GROUP BY 1
ORDER BY 1""",
    ),
    NamedQuery(
        "speed-per-segment",
        "Average speed per road segment (cells of 0.01 degree, about 1 km)",
        """SELECT round(location.latitude, 2) AS cell_latitude,
       round(location.longitude, 2) AS cell_longitude,
       count(*) AS events,
       round(avg(speed_kmh), 1) AS avg_speed_kmh
FROM {database}.vehicle
GROUP BY 1, 2
ORDER BY 1, 2""",
    ),
    NamedQuery(
        "weather-along-route",
        "Weather along each vehicle's route, per hour",
        """SELECT vehicle_id,
       date_trunc('hour', event_time) AS event_hour,
       count(*) AS observations,
       round(avg(temperature_c), 1) AS avg_temperature_c,
       round(max(precipitation_mm), 1) AS max_precipitation_mm,
       round(max(wind_speed_kmh), 1) AS max_wind_speed_kmh,
       max_by(condition, event_time) AS last_condition,
       round(max_by(location.latitude, event_time), 4) AS last_latitude,
       round(max_by(location.longitude, event_time), 4) AS last_longitude
FROM {database}.weather
GROUP BY 1, 2
ORDER BY 1, 2""",
    ),
    NamedQuery(
        "emergencies-by-type-status",
        "Incidents by type and current status (the latest status event of each incident)",
        """WITH latest AS (
    SELECT incident_id,
           max_by(incident_type, event_time) AS incident_type,
           max_by(status, event_time) AS status
    FROM {database}.emergency
    GROUP BY incident_id
)
SELECT incident_type, status, count(*) AS incidents
FROM latest
GROUP BY 1, 2
ORDER BY 1, 2""",
    ),
    NamedQuery(
        "last-position",
        "Last known position of each vehicle",
        """SELECT vehicle_id,
       max(event_time) AS last_seen,
       round(max_by(location.latitude, event_time), 5) AS latitude,
       round(max_by(location.longitude, event_time), 5) AS longitude,
       round(max_by(speed_kmh, event_time), 1) AS speed_kmh
FROM {database}.vehicle
GROUP BY 1
ORDER BY 1""",
    ),
)


def named_query(name: str) -> NamedQuery:
    """The built-in query called ``name``; a clear error lists them otherwise."""
    for query in QUERIES:
        if query.name == name:
            return query
    msg = f"no built-in query named {name!r}; known: {', '.join(q.name for q in QUERIES)}"
    raise CatalogError(msg)
