"""Settings of local SQL: where the lake and its Iceberg catalog are, and the schema its views live in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from core.iceberg import IcebergCatalog
from core.lake import LakeLocation
from core.settings import DEFAULT_DATABASE, check_known, database_name, lake_location, local_dir

__all__ = ["LakeSqlSettings"]


@dataclass(frozen=True)
class LakeSqlSettings:
    """The lake to read, its Iceberg catalog and the DuckDB schema of its views (named like the Glue database).

    Attributes:
        lake: the lake (the Iceberg warehouse): a local folder, or S3.
        database: the schema holding one view per table, so that the same SQL runs in DuckDB and Athena; also
            the Iceberg namespace of the tables.
        iceberg: the Iceberg catalog of the lake (``TELEMETRY_CATALOG``, ``TELEMETRY_CATALOG_DB``); by default
            the one :meth:`core.iceberg.IcebergCatalog.from_env` gives for ``lake`` and ``database``.
    """

    lake: LakeLocation
    database: str = DEFAULT_DATABASE
    iceberg: IcebergCatalog = field(default=None)  # type: ignore[assignment]  # filled in by __post_init__

    def __post_init__(self) -> None:
        """Derive the Iceberg catalog from the environment when none is given."""
        if self.iceberg is None:
            object.__setattr__(self, "iceberg", IcebergCatalog.from_env(self.lake, self.database))

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, lake: str | None = None, database: str | None = None
    ) -> LakeSqlSettings:
        """Read ``TELEMETRY_LAKE``, ``TELEMETRY_GLUE_DATABASE`` and the catalog's; keyword arguments (CLI flags) win.

        Raises:
            ConfigError: a malformed lake location, schema name or catalog setting.
        """
        env = os.environ if env is None else env
        check_known(env)
        location = lake_location(env, lake)
        name = database_name(env, database)
        return cls(location, name, IcebergCatalog.from_env(location, name, env, home=local_dir(env)))
