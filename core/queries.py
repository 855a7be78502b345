"""The named queries over the lake, in Athena's SQL (which DuckDB runs too) and in Redshift's.

Written once here, and used by every endpoint: ``python -m lakesql query --name`` runs the Athena
text on the local lake through DuckDB (transpiled by sqlglot), ``python -m glue render`` writes both
texts into ``build/catalog/`` and docs/athena-queries.md shows the Athena text (a test keeps the three
equal and checks the results). Tables are addressed as ``{database}.<table>``: the Glue database in
Athena, the external schema of the same name in Redshift, a DuckDB schema of views locally.

Redshift has no ``max_by``, and Redshift reaches into a struct only through a table alias
(``v.location.latitude``), so its texts rank rows with ``row_number()`` instead. Days are UTC days of a
timestamp (``CAST(ingested_at AS DATE)``: the three engines read the instants in UTC). When not to use them:
they read every day of a table; on a large lake add a filter on the timestamp the table is partitioned by
(``WHERE event_time >= TIMESTAMP '2025-06-01 00:00:00 UTC'``, ``ingested_at`` for a quarantine), which Iceberg's
hidden day partitioning turns into pruned files in every engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import CatalogError

__all__ = ["QUERIES", "NamedQuery", "named_query"]


@dataclass(frozen=True)
class NamedQuery:
    """A query users run by name.

    Attributes:
        name: what ``--name`` takes.
        title: one line saying what it answers.
        athena: the text in Athena's (Trino's) dialect, with ``{database}`` for the database.
        redshift: the text in Redshift's dialect, when it differs from the Athena one.
    """

    name: str
    title: str
    athena: str
    redshift: str | None = None

    def render(self, database: str, dialect: str = "athena") -> str:
        """The SQL for ``dialect`` (``athena`` or ``redshift``) over ``database``."""
        if dialect not in ("athena", "redshift"):
            msg = f"named queries are written for athena and redshift, not {dialect!r}"
            raise CatalogError(msg)
        text = self.redshift if dialect == "redshift" and self.redshift is not None else self.athena
        return text.replace("{database}", database)


_EVENTS_PER_HOUR = """SELECT vehicle_id,
       date_trunc('hour', event_time) AS event_hour,
       count(*) AS events
FROM {database}.vehicle
GROUP BY 1, 2
ORDER BY 1, 2"""

_SPEED_PER_HOUR = """SELECT date_trunc('hour', event_time) AS event_hour,
       count(*) AS events,
       round(avg(speed_kmh), 1) AS avg_speed_kmh,
       round(max(speed_kmh), 1) AS max_speed_kmh
FROM {database}.vehicle
GROUP BY 1
ORDER BY 1"""

_QUARANTINE = """SELECT CAST(ingested_at AS DATE) AS ingested_day,
       reason,
       count(*) AS records
FROM {database}.vehicle_quarantine
GROUP BY 1, 2
ORDER BY 1, 2"""

QUERIES: tuple[NamedQuery, ...] = (
    NamedQuery("events-per-vehicle-hour", "Vehicle events per vehicle per hour", _EVENTS_PER_HOUR),
    NamedQuery("speed-per-hour", "Average speed per hour, all vehicles", _SPEED_PER_HOUR),
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
        redshift="""SELECT round(v.location.latitude, 2) AS cell_latitude,
       round(v.location.longitude, 2) AS cell_longitude,
       count(*) AS events,
       round(avg(v.speed_kmh), 1) AS avg_speed_kmh
FROM {database}.vehicle AS v
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
        redshift="""WITH observations AS (
    SELECT w.vehicle_id,
           date_trunc('hour', w.event_time) AS event_hour,
           w.temperature_c,
           w.precipitation_mm,
           w.wind_speed_kmh,
           w.condition,
           w.location.latitude AS latitude,
           w.location.longitude AS longitude,
           row_number() OVER (
               PARTITION BY w.vehicle_id, date_trunc('hour', w.event_time) ORDER BY w.event_time DESC
           ) AS recency
    FROM {database}.weather AS w
)
SELECT vehicle_id,
       event_hour,
       count(*) AS observations,
       round(avg(temperature_c), 1) AS avg_temperature_c,
       round(max(precipitation_mm), 1) AS max_precipitation_mm,
       round(max(wind_speed_kmh), 1) AS max_wind_speed_kmh,
       max(CASE WHEN recency = 1 THEN condition END) AS last_condition,
       round(max(CASE WHEN recency = 1 THEN latitude END), 4) AS last_latitude,
       round(max(CASE WHEN recency = 1 THEN longitude END), 4) AS last_longitude
FROM observations
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
        redshift="""WITH ranked AS (
    SELECT incident_id,
           incident_type,
           status,
           row_number() OVER (PARTITION BY incident_id ORDER BY event_time DESC) AS recency
    FROM {database}.emergency
)
SELECT incident_type, status, count(*) AS incidents
FROM ranked
WHERE recency = 1
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
        redshift="""WITH ranked AS (
    SELECT v.vehicle_id,
           v.event_time,
           v.location.latitude AS latitude,
           v.location.longitude AS longitude,
           v.speed_kmh,
           row_number() OVER (PARTITION BY v.vehicle_id ORDER BY v.event_time DESC) AS recency
    FROM {database}.vehicle AS v
)
SELECT vehicle_id,
       event_time AS last_seen,
       round(latitude, 5) AS latitude,
       round(longitude, 5) AS longitude,
       round(speed_kmh, 1) AS speed_kmh
FROM ranked
WHERE recency = 1
ORDER BY 1""",
    ),
    NamedQuery("quarantine-by-reason", "Quarantined vehicle records per day (UTC) and reason", _QUARANTINE),
)


def named_query(name: str) -> NamedQuery:
    """The built-in query called ``name``; a clear error lists them otherwise."""
    for query in QUERIES:
        if query.name == name:
            return query
    msg = f"no built-in query named {name!r}; known: {', '.join(q.name for q in QUERIES)}"
    raise CatalogError(msg)
