"""Settings of the dashboards: where Superset runs, keeps its state and finds the lake.

Read from ``TELEMETRY_SUPERSET_PORT``, ``TELEMETRY_SUPERSET_PASSWORD`` (else a password generated at
first start and kept in ``<home>/superset/admin-password``), ``TELEMETRY_DASHBOARD_ENGINE`` (``duckdb``
for the local lake, ``athena`` for a lake on S3), ``TELEMETRY_ATHENA_RESULTS``, ``TELEMETRY_ATHENA_WORKGROUP``,
``TELEMETRY_LAKE``, ``TELEMETRY_GLUE_DATABASE``, ``AWS_REGION``/``AWS_DEFAULT_REGION``, and when a vehicle counts
as moving or silent: ``TELEMETRY_FLEET_MOVING_KMH`` (default 5) and ``TELEMETRY_FLEET_SILENT_AFTER_S`` (default 120).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from core.catalog import project_root
from core.errors import ConfigError
from core.lake import LakeLocation
from core.settings import Secret, check_known, database_name, env_int, env_str, lake_location, local_dir
from dashboards.fleet import FleetStatus
from lakesql.extensions import VIEW_EXTENSIONS

__all__ = ["DUCKDB_EXTENSIONS", "DashboardSettings"]

HOST = "127.0.0.1"
ENGINES = ("duckdb", "athena")
DUCKDB_EXTENSIONS: tuple[str, ...] = VIEW_EXTENSIONS
"""The DuckDB extensions the lake's views need, loaded by Superset before external access is turned off."""


@dataclass(frozen=True)
class DashboardSettings:
    """Everything ``make dashboard`` needs.

    Attributes:
        home: Superset's state: metadata database, secret key, admin password, logs, the lake's DuckDB file.
        venv: Superset's own virtual environment.
        port: where Superset listens on 127.0.0.1.
        engine: ``duckdb`` (the local lake) or ``athena`` (the lake's Glue tables, through PyAthena).
        lake: the lake.
        database: the schema of the lake's views (DuckDB) or the Glue database (Athena).
        password: the admin password from the environment, or None to use (or generate) the kept one.
        region: the AWS region for Athena.
        athena_results: ``s3://`` folder for Athena's query results.
        athena_workgroup: Athena workgroup.
        fleet: when a vehicle counts as moving, idle or silent.
        map_tiles: a raster tile server's URL template (``https://host/{z}/{x}/{y}.png``) the maps draw under their
            layers, or empty: no tiles, and the dashboards' pages fetch nothing from outside this machine.
    """

    home: Path
    venv: Path
    lake: LakeLocation
    port: int = 8088
    engine: str = "duckdb"
    database: str = "smartcity"
    password: Secret | None = None
    region: str = ""
    athena_results: str = ""
    athena_workgroup: str = "primary"
    fleet: FleetStatus = field(default_factory=FleetStatus)
    map_tiles: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DashboardSettings:
        """Read and validate the settings.

        Raises:
            ConfigError: an unknown engine, a bad port, or Athena without a results location or region.
        """
        env = os.environ if env is None else env
        check_known(env)
        engine = env_str(env, "TELEMETRY_DASHBOARD_ENGINE", "duckdb").lower()
        if engine not in ENGINES:
            msg = f"TELEMETRY_DASHBOARD_ENGINE must be one of {', '.join(ENGINES)}, got {engine!r}"
            raise ConfigError(msg)
        port = env_int(env, "TELEMETRY_SUPERSET_PORT", 8088, minimum=1)
        if port > 65535:
            msg = f"TELEMETRY_SUPERSET_PORT must be a TCP port (1-65535), got {port}"
            raise ConfigError(msg)
        password = env.get("TELEMETRY_SUPERSET_PASSWORD", "")
        settings = cls(
            home=local_dir(env) / "superset",
            venv=project_root() / ".cache" / "superset" / "venv",
            port=port,
            engine=engine,
            lake=lake_location(env),
            database=database_name(env),
            password=Secret(password) if password else None,
            region=env_str(env, "AWS_REGION", env_str(env, "AWS_DEFAULT_REGION", "")),
            athena_results=env_str(env, "TELEMETRY_ATHENA_RESULTS", ""),
            athena_workgroup=env_str(env, "TELEMETRY_ATHENA_WORKGROUP", "primary"),
            fleet=FleetStatus(
                moving_kmh=env_int(env, "TELEMETRY_FLEET_MOVING_KMH", FleetStatus.moving_kmh, minimum=1),
                silent_after_s=env_int(env, "TELEMETRY_FLEET_SILENT_AFTER_S", FleetStatus.silent_after_s, minimum=1),
            ),
            map_tiles=env_str(env, "TELEMETRY_MAP_TILES", ""),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse combinations that cannot work, saying what to set."""
        if any(c in str(self.home) for c in "?#"):
            msg = f"Superset's state folder {self.home} holds '?' or '#', which its database URI cannot carry"
            raise ConfigError(msg)
        if self.engine == "duckdb" and not self.lake.is_local:
            msg = (
                f"the lake is {self.lake.catalog_uri()}: the dashboards' DuckDB reads a local lake only "
                "(Superset locks it to the lake's folder); set TELEMETRY_DASHBOARD_ENGINE=athena to read the Glue "
                "tables through Athena"
            )
            raise ConfigError(msg)
        if self.engine == "athena" and not (self.athena_results.startswith("s3://") and self.region):
            msg = (
                "TELEMETRY_DASHBOARD_ENGINE=athena needs TELEMETRY_ATHENA_RESULTS (s3://bucket/prefix/ for query "
                "results) and AWS_REGION"
            )
            raise ConfigError(msg)
        if self.map_tiles:
            tiles = urlsplit(self.map_tiles)
            if (
                tiles.scheme not in ("http", "https")
                or not tiles.hostname
                or not {"{z}", "{x}", "{y}"} <= set(re.findall(r"\{[xyz]\}", tiles.path + "?" + tiles.query))
            ):
                msg = (
                    f"TELEMETRY_MAP_TILES must be a tile server's URL template such as "
                    f"https://tiles.example.org/{{z}}/{{x}}/{{y}}.png, got {self.map_tiles!r}"
                )
                raise ConfigError(msg)

    @property
    def map_tiles_origin(self) -> str:
        """The tile server's origin (``https://host[:port]``), which the pages may fetch from; empty without one."""
        if not self.map_tiles:
            return ""
        tiles = urlsplit(self.map_tiles)
        return f"{tiles.scheme}://{tiles.netloc}"

    @property
    def url(self) -> str:
        """Where people open Superset."""
        return f"http://{HOST}:{self.port}"

    @property
    def lake_file(self) -> Path:
        """The DuckDB file holding the lake's views; Superset applies their SQL, beside it, to its own instance."""
        return self.home / "lake.duckdb"

    @property
    def sqlalchemy_uri(self) -> str:
        """How Superset reaches the lake: the DuckDB file, or Athena with the default AWS credential chain."""
        if self.engine == "duckdb":  # SQLAlchemy 1.4 takes the path as it is (no %-decoding)
            return f"duckdb:///{self.lake_file}?access_mode=read_only"
        host = f"athena.{self.region}.amazonaws.com"
        return (
            f"awsathena+rest://@{host}:443/{self.database}?s3_staging_dir={quote(self.athena_results, safe='')}"
            f"&work_group={quote(self.athena_workgroup, safe='')}"
        )
