"""Settings of local SQL: where the lake is and the schema its views live in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from core.lake import LakeLocation
from core.settings import DEFAULT_DATABASE, check_known, database_name, lake_location

__all__ = ["LakeSqlSettings"]


@dataclass(frozen=True)
class LakeSqlSettings:
    """The lake to read and the DuckDB schema of its views (named like the Glue database).

    Attributes:
        lake: the lake; it must be a local folder to be read here (Athena reads a lake on S3).
        database: the schema holding one view per table, so that the same SQL runs in DuckDB and Athena.
    """

    lake: LakeLocation
    database: str = DEFAULT_DATABASE

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, lake: str | None = None, database: str | None = None
    ) -> LakeSqlSettings:
        """Read ``TELEMETRY_LAKE`` and ``TELEMETRY_GLUE_DATABASE``; the keyword arguments (CLI flags) win.

        Raises:
            ConfigError: a malformed lake location or schema name.
        """
        env = os.environ if env is None else env
        check_known(env)
        return cls(lake=lake_location(env, lake), database=database_name(env, database))
