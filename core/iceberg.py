"""The lake's Apache Iceberg catalog: one definition that every reader and writer takes its form from.

Locally the catalog is Iceberg's JDBC catalog on a SQLite file (works offline on one machine, and Spark,
pyiceberg and DuckDB all read it); on AWS it is the Glue Data Catalog with S3FileIO, so Athena and Redshift
read exactly the tables the job commits. ``TELEMETRY_CATALOG`` chooses (``local``, the default, or ``glue``);
``TELEMETRY_CATALOG_DB`` names the SQLite file of a local catalog. By default a local lake keeps its
catalog inside the lake folder (``<lake>/_catalog/iceberg.db``), so a lake is one folder that can be
copied or removed whole; a lake on S3 keeps it under ``<TELEMETRY_HOME>/catalog/<bucket>/<prefix>/``.

Tables are ``<namespace>.<table>``: the namespace is the Glue database (``TELEMETRY_GLUE_DATABASE``,
``smartcity``), the table names are those of :mod:`core.tables` (``vehicle``, ``vehicle_quarantine``).
Spark sees them in the catalog :data:`CATALOG_NAME` (``lake.smartcity.vehicle``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from core.errors import ConfigError
from core.lake import LakeLocation

__all__ = ["CATALOG_KINDS", "CATALOG_NAME", "IcebergCatalog"]

CATALOG_NAME = "lake"
"""The catalog's name in Spark (``spark.sql.catalog.lake``) and in the JDBC catalog's rows (``catalog_name``)."""

CATALOG_KINDS = ("local", "glue")


@dataclass(frozen=True)
class IcebergCatalog:
    """Where the lake's Iceberg catalog is, and its form for Spark, pyiceberg and the names of its tables.

    Attributes:
        kind: ``local`` (JDBC catalog on SQLite) or ``glue`` (AWS Glue Data Catalog).
        warehouse: the lake root; tables live at ``<warehouse>/<namespace>/<table>``.
        namespace: the Glue database / Iceberg namespace of every table.
        sqlite_path: the SQLite file of a local catalog (None for Glue).
    """

    kind: str
    warehouse: LakeLocation
    namespace: str
    sqlite_path: Path | None

    @classmethod
    def from_env(
        cls, lake: LakeLocation, namespace: str, env: Mapping[str, str] | None = None, home: Path | None = None
    ) -> IcebergCatalog:
        """The catalog of ``lake`` from ``TELEMETRY_CATALOG`` and ``TELEMETRY_CATALOG_DB``.

        Args:
            lake: the lake root (the warehouse).
            namespace: the Glue database name (already validated).
            env: the environment (``os.environ`` by default).
            home: ``TELEMETRY_HOME``, where a lake on S3 keeps its local catalog.

        Raises:
            ConfigError: an unknown catalog kind, or a SQLite file for the Glue catalog.
        """
        env = os.environ if env is None else env
        kind = env.get("TELEMETRY_CATALOG", "").strip().lower() or "local"
        if kind not in CATALOG_KINDS:
            msg = f"TELEMETRY_CATALOG must be one of {', '.join(CATALOG_KINDS)}, got {kind!r}"
            raise ConfigError(msg)
        db = env.get("TELEMETRY_CATALOG_DB", "").strip()
        if kind == "glue":
            if db:
                msg = "TELEMETRY_CATALOG_DB names a local SQLite catalog; unset it with TELEMETRY_CATALOG=glue"
                raise ConfigError(msg)
            return cls("glue", lake, namespace, None)
        if db:
            path = Path(db).expanduser().resolve()
        elif lake.is_local:
            path = lake.local_path / "_catalog" / "iceberg.db"
        else:
            root = home if home is not None else Path(env.get("TELEMETRY_HOME", "") or ".local")
            path = (root / "catalog" / lake.authority / (lake.path or "_root") / "iceberg.db").resolve()
        return cls("local", lake, namespace, path)

    def table_id(self, table: str) -> str:
        """The identifier pyiceberg gives a table: ``<namespace>.<table>``."""
        return f"{self.namespace}.{table}"

    def spark_table(self, table: str) -> str:
        """Spark's name of a table: ``lake.<namespace>.<table>``."""
        return f"{CATALOG_NAME}.{self.namespace}.{table}"

    def warehouse_uri(self) -> str:
        """The warehouse as Iceberg stores it in table metadata: ``file:///...`` or ``s3://bucket/prefix``.

        ``s3://``, not ``s3a://``: Athena, Redshift and S3FileIO read the locations written into the metadata, and
        Spark's Hadoop file system is told to serve ``s3://`` with S3A (:meth:`spark_conf`). A local folder is
        ``file://`` and its path unescaped: Hadoop's ``Path`` and pyiceberg's file IO take a location's path as it
        is, so ``%20`` in a URI would be a folder named ``%20``, not a space.
        """
        if self.warehouse.is_local:
            return self.warehouse.hadoop_uri()
        return self.warehouse.catalog_uri().rstrip("/")

    def table_location(self, table: str) -> str:
        """Where a table's data and metadata live: ``<warehouse>/<namespace>/<table>``."""
        return f"{self.warehouse_uri()}/{self.namespace}/{table}"

    def spark_conf(self) -> dict[str, str]:
        """The Spark settings that define the catalog ``lake`` (and Iceberg's SQL extensions)."""
        prefix = f"spark.sql.catalog.{CATALOG_NAME}"
        conf = {
            "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
            prefix: "org.apache.iceberg.spark.SparkCatalog",
            f"{prefix}.warehouse": self.warehouse_uri(),
            # Every read and write loads the table's current metadata: the job, maintenance and pyiceberg
            # (claims, schema evolution) commit to the same tables, and a cached table would be stale.
            f"{prefix}.cache-enabled": "false",
        }
        if not self.warehouse.is_local:
            conf["spark.hadoop.fs.s3.impl"] = "org.apache.hadoop.fs.s3a.S3AFileSystem"
        if self.kind == "glue":
            conf[f"{prefix}.type"] = "glue"
            conf[f"{prefix}.io-impl"] = "org.apache.iceberg.aws.s3.S3FileIO"
            return conf
        conf[f"{prefix}.type"] = "jdbc"
        conf[f"{prefix}.uri"] = f"jdbc:sqlite:{self.sqlite_path}"
        conf[f"{prefix}.jdbc.schema-version"] = "V1"
        conf[f"{prefix}.io-impl"] = "org.apache.iceberg.hadoop.HadoopFileIO"
        return conf

    def pyiceberg_properties(self) -> dict[str, Any]:
        """The properties of ``pyiceberg.catalog.load_catalog(CATALOG_NAME, **props)`` for the same catalog."""
        if self.kind == "glue":
            props: dict[str, Any] = {"type": "glue", "warehouse": self.warehouse_uri()}
        else:
            # SQLAlchemy decodes %-escapes in a URL's path: a folder named "100%20" must be given escaped.
            database = quote(str(self.sqlite_path))
            props = {"type": "sql", "uri": f"sqlite:///{database}", "warehouse": self.warehouse_uri()}
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint and not self.warehouse.is_local:
            props["s3.endpoint"] = endpoint
        return props
