"""Write the generated catalog into the build folder: Glue JSON, Athena and Redshift SQL, security documents.

Layout of ``build/catalog/`` (``TELEMETRY_BUILD_DIR``)::

    glue/database.json          DatabaseInput (aws glue create-database --database-input file://...)
    glue/tables/<table>.json    CreateTable input with Glue's IcebergInput (aws glue create-table --cli-input-json ...)
    athena/<table>.sql          Athena's CREATE TABLE ... 'table_type'='ICEBERG', PARTITIONED BY (day(...))
    athena/workgroup.json       the analysts' workgroup (aws athena create-work-group --cli-input-json ...)
    athena/queries/<name>.sql   the named queries (core/queries.py) in Athena's SQL
    redshift/external-schema.sql  CREATE EXTERNAL SCHEMA ... FROM DATA CATALOG (Redshift reads the Iceberg tables)
    redshift/queries/<name>.sql the named queries in Redshift's SQL
    iam/*.json                  role policies (Redshift's role and trust policy too), bucket policies,
                                Block Public Access

Files this stage wrote before and no longer generates (a removed entity) are deleted, so the folder
always equals the schemas.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.catalog import Catalog
from core.errors import CatalogError
from core.queries import QUERIES
from glue.ddl import create_database_ddl, create_table_ddl
from glue.iam import deployment_locations, security_documents
from glue.iceberg import glue_iceberg_input
from glue.redshift import redshift_documents
from glue.settings import GlueSettings
from glue.tables import TableDefinition, database_input, table_definitions, table_input

__all__ = ["Rendered", "create_table_input", "render", "workgroup_input"]

_SUBFOLDERS = ("glue/tables", "glue", "athena", "athena/queries", "redshift", "redshift/queries", "iam")


@dataclass(frozen=True)
class Rendered:
    """What :func:`render` wrote."""

    folder: Path
    files: tuple[Path, ...]
    tables: tuple[str, ...]
    placeholder_lake: bool


def workgroup_input(settings: GlueSettings) -> dict[str, Any]:
    """The analysts' Athena workgroup: results in its own prefix, encrypted, configuration enforced."""
    results = deployment_locations(settings).results
    return {
        "Name": settings.workgroup,
        "Description": f"Queries over the {settings.database} telemetry lake.",
        "Configuration": {
            "ResultConfiguration": {
                "OutputLocation": results.uri,
                "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
            },
            "EnforceWorkGroupConfiguration": True,
            "PublishCloudWatchMetricsEnabled": True,
            "BytesScannedCutoffPerQuery": 10 * 1024**3,
        },
    }


def create_table_input(database: str, table: TableDefinition) -> dict[str, Any]:
    """``aws glue create-table --cli-input-json`` of one table: Glue writes its first Iceberg metadata itself."""
    return {
        "DatabaseName": database,
        "TableInput": table_input(table),
        "OpenTableFormatInput": glue_iceberg_input(table),
    }


def _documents(catalog: Catalog, settings: GlueSettings, versions: Mapping[str, int] | None) -> dict[str, str]:
    tables = table_definitions(catalog, settings, versions)
    database = database_input(settings)
    files = {"glue/database.json": _json(database)}
    statements = [create_database_ddl(settings.database, database["Description"])]
    for table in tables:
        files[f"glue/tables/{table.name}.json"] = _json(create_table_input(settings.database, table))
        statements.append(create_table_ddl(settings.database, table))
        files[f"athena/{table.name}.sql"] = statements[-1]
    files["athena/all.sql"] = "\n".join(statements)
    files["athena/workgroup.json"] = _json(workgroup_input(settings))
    for query in QUERIES:
        files[f"athena/queries/{query.name}.sql"] = query.render(settings.database) + ";\n"
    redshift_sql, redshift_iam = redshift_documents(settings)
    files.update({f"redshift/{name}": text for name, text in redshift_sql.items()})
    security = {**security_documents(settings, [t.name for t in tables]), **redshift_iam}
    for name, document in security.items():
        files[f"iam/{name}"] = _json(document)
    return files


def _json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render(catalog: Catalog, settings: GlueSettings, versions: Mapping[str, int] | None = None) -> Rendered:
    """Generate every document and write it under ``settings.build_dir``.

    Raises:
        CatalogError: a schema has no safe catalog mapping, or the folder cannot be written.
    """
    documents = _documents(catalog, settings, versions)  # all or nothing: generate before touching files
    folder = settings.build_dir
    try:
        for sub in _SUBFOLDERS:
            for stale in (folder / sub).glob("*.*"):
                if stale.suffix in (".json", ".sql") and stale.relative_to(folder).as_posix() not in documents:
                    stale.unlink()
        written = []
        for relative, text in documents.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        reason = exc.strerror or exc
        msg = f"cannot write the catalog into {folder}: {reason}; set TELEMETRY_BUILD_DIR to a writable folder"
        raise CatalogError(msg) from exc
    return Rendered(
        folder=folder,
        files=tuple(written),
        tables=tuple(t.name for t in table_definitions(catalog, settings, versions)),
        placeholder_lake=deployment_locations(settings).placeholder,
    )
