"""Plan and apply the generated catalog against a live Glue Data Catalog, through Iceberg's Glue catalog.

The tables are created and evolved by pyiceberg's ``GlueCatalog``, the same protocol Iceberg's Java
``GlueCatalog`` (the streaming job, maintenance) commits with: each change writes a new metadata file under the
table's location and swaps the Glue table's ``metadata_location`` in one ``UpdateTable`` guarded by the table's
version id, so a commit racing the job's fails and nothing is half-applied. Glue then holds what Athena and
Redshift read: ``table_type=ICEBERG``, ``metadata_location``, the columns with their docs.

(Glue's own ``CreateTable`` with ``OpenTableFormatInput`` can create an Iceberg table too, and the rendered
``glue/tables/<table>.json`` is that input; but it cannot evolve one, and moto does not write its metadata, so a
test of it would prove nothing. pyiceberg does both, the same way on AWS and on moto.)

A table Glue does not know whose location already holds an Iceberg table (the Glue entry was lost, or the
table was written through another catalog) is registered with its newest metadata, then evolved: ``apply``
never creates an empty table over existing data (:mod:`glue.existing`).

The endpoint and credentials come from the standard AWS chain: ``AWS_ENDPOINT_URL`` or
``AWS_ENDPOINT_URL_GLUE`` / ``_S3`` (a moto server in tests and the local demo), ``AWS_PROFILE`` or the
``AWS_ACCESS_KEY_ID`` pair, an instance role... Nothing here picks an endpoint by itself.
Applying is idempotent: a table that already matches is left alone, so a second ``apply`` commits nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pyiceberg.catalog.glue import GlueCatalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NoSuchIcebergTableError,
    NoSuchNamespaceError,
    NoSuchPropertyException,
    NoSuchTableError,
    ValidationError,
)
from pyiceberg.io import load_file_io
from pyiceberg.serializers import FromInputFile
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform

from core.errors import CatalogError
from core.iceberg import CATALOG_NAME
from glue.existing import newest_metadata, same_location
from glue.iceberg import iceberg_schema, partition_spec
from glue.plan import DEPRECATED, FORMAT_VERSION, Change, deprecated_doc, diff_table, live_partition_fields
from glue.settings import GlueSettings
from glue.tables import TableDefinition, database_input, iceberg_catalog

__all__ = ["apply_changes", "glue_catalog", "glue_client", "plan_changes"]

_T = TypeVar("_T")


def glue_client(settings: GlueSettings) -> Any:
    """A Glue client for ``settings.region``; endpoint and credentials from the standard AWS chain.

    Raises:
        CatalogError: no region is configured, or the client cannot be set up.
    """
    if settings.region is None:
        msg = "no AWS region configured: set AWS_REGION (or AWS_DEFAULT_REGION, or a region in your AWS profile)"
        raise CatalogError(msg)
    config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})
    try:
        return boto3.client("glue", region_name=settings.region, config=config)
    except BotoCoreError as exc:
        msg = f"cannot set up a Glue client for region {settings.region}: {exc}"
        raise CatalogError(msg) from exc


def glue_catalog(settings: GlueSettings) -> GlueCatalog:
    """Iceberg's Glue catalog over the lake of ``settings`` (S3 through pyiceberg's FileIO, same endpoint chain).

    Raises:
        CatalogError: no region is configured, or the client cannot be set up.
    """
    client = glue_client(settings)
    properties = {**iceberg_catalog(settings).pyiceberg_properties(), "s3.region": settings.region}
    return GlueCatalog(CATALOG_NAME, client=client, **properties)


@contextmanager
def _failing_as(what: str) -> Iterator[None]:
    """Every failure of a catalog call becomes a one-line CatalogError saying what was being done."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", str(exc))
        hint = " (check the role's policy: build/catalog/iam/catalog-applier-policy.json)" if "Denied" in code else ""
        msg = f"Glue refused to {what}: {code}: {message}{hint}"
        raise CatalogError(msg) from exc
    except BotoCoreError as exc:
        msg = (
            f"cannot {what}: {exc}; set AWS credentials (AWS_PROFILE or the default chain) and, for a local "
            "moto server, AWS_ENDPOINT_URL=http://127.0.0.1:5000"
        )
        raise CatalogError(msg) from exc
    except CommitFailedException as exc:
        msg = f"cannot {what}: another writer committed first ({exc}); run the command again"
        raise CatalogError(msg) from exc
    except (ValidationError, ValueError, OSError) as exc:
        hint = (
            " (Iceberg promotes int to long, float to double and widens a decimal; any other change needs a new field)"
            if "Cannot change column type" in str(exc)
            else ""
        )
        msg = f"cannot {what}: {exc}{hint}"
        raise CatalogError(msg) from exc


def _load(catalog: GlueCatalog, database: str, table: TableDefinition) -> Table | None:
    try:
        with _failing_as(f"read table {database}.{table.name}"):
            return catalog.load_table((database, table.name))
    except (NoSuchIcebergTableError, NoSuchPropertyException) as exc:  # no or another table_type
        msg = (
            f"table {database}.{table.name} exists in Glue but is not an Iceberg table (a Parquet table of an earlier "
            f"release?); import its data into the lake's Iceberg tables, then delete it (aws glue delete-table "
            f"--database-name {database} --name {table.name}) and apply again"
        )
        raise CatalogError(msg) from exc
    except NoSuchTableError:
        return None


def plan_changes(catalog: GlueCatalog, settings: GlueSettings, tables: list[TableDefinition]) -> list[Change]:
    """What ``apply`` would do: create the database, create or update tables; empty when up to date.

    Raises:
        CatalogError: a table cannot be read, is not an Iceberg table, or lives elsewhere than the lake says.
    """
    database = settings.database
    changes: list[Change] = []
    try:
        with _failing_as(f"read database {database}"):
            catalog.load_namespace_properties(database)
        exists = True
    except NoSuchNamespaceError:
        exists = False
        changes.append(Change("create database", database))
    for table in tables:
        live = _load(catalog, database, table) if exists else None
        if live is None:
            changes.append(_create_or_register(catalog, table))
            continue
        if not same_location(live.location(), table.location):
            msg = (
                f"table {database}.{table.name} lives at {live.location()}, but the lake puts it at {table.location}; "
                "Iceberg tables do not move: set TELEMETRY_LAKE (or --lake) to the lake the table was created in"
            )
            raise CatalogError(msg)
        details = diff_table(table, live.metadata)
        if details:
            changes.append(Change("update table", table.name, details, table))
    return changes


def _create_or_register(catalog: GlueCatalog, table: TableDefinition) -> Change:
    """Create a table Glue does not know, unless its location already holds one: then register that one."""
    metadata = newest_metadata(table.location)
    if metadata is None:
        return Change("create table", table.name, table=table)
    with _failing_as(f"read {metadata}"):
        found = FromInputFile.table_metadata(load_file_io(catalog.properties, metadata).new_input(metadata))
    return Change("register table", table.name, diff_table(table, found), table, metadata)


def _create_table(catalog: GlueCatalog, database: str, table: TableDefinition) -> None:
    schema = iceberg_schema(table.columns)
    catalog.create_table(
        (database, table.name),
        schema=schema,
        location=table.location,
        partition_spec=partition_spec(table, schema),
        properties=dict(table.properties),
    )


def _update_table(catalog: GlueCatalog, database: str, table: TableDefinition) -> None:
    """One commit: schema (added columns, promotions, docs, deprecations), spec, properties, format version."""
    live = catalog.load_table((database, table.name))
    wanted = iceberg_schema(table.columns)
    names = [f.name for f in wanted.fields]
    have = {f.name for f in live.schema().fields}
    with live.transaction() as tx:
        with tx.update_schema() as update:
            update.union_by_name(wanted)
            # Iceberg appends a new column; put it where the schema declares it (before the metadata columns),
            # the order the job's rows have
            for index, name in enumerate(names):
                if name in have:
                    continue
                if index:
                    update.move_after(name, names[index - 1])
                else:
                    update.move_first(name)
            for field in live.schema().fields:
                if field.name not in names and not (field.doc or "").startswith(DEPRECATED):
                    update.update_column(field.name, doc=deprecated_doc(field.doc))
        if live_partition_fields(live.metadata) != [(table.partition_source, str(DayTransform()))]:
            with tx.update_spec() as spec:
                for old in live.spec().fields:
                    spec.remove_field(old.name)
                spec.add_field(table.partition_source, DayTransform(), f"{table.partition_source}_day")
        changed = {k: v for k, v in table.properties.items() if live.properties.get(k) != v}
        if changed:
            tx.set_properties(changed)
        stale = [k for k in live.properties if k.startswith("telemetry.") and k not in table.properties]
        if stale:
            tx.remove_properties(*stale)
        if live.format_version < FORMAT_VERSION:
            tx.upgrade_table_version(FORMAT_VERSION)


def _attempt(what: str, action: Callable[[], _T]) -> _T:
    with _failing_as(what):
        return action()


def apply_changes(catalog: GlueCatalog, settings: GlueSettings, changes: list[Change]) -> None:
    """Carry out planned changes, in order (the database before its tables); each table in one commit.

    Raises:
        CatalogError: Glue or the object store refuses a call, a type change Iceberg cannot make, or a race lost
            to another writer (run again: the plan is recomputed from what is there).
    """
    database = settings.database
    for change in changes:
        if change.action == "create database":
            wanted = database_input(settings)
            properties = {"Description": wanted["Description"], "location": wanted["LocationUri"]}
            _attempt(f"create database {database}", partial(catalog.create_namespace, database, properties))
            continue
        table = change.table
        if table is None:  # a table change always carries its table
            continue
        if change.action == "create table":
            _attempt(f"create table {database}.{table.name}", partial(_create_table, catalog, database, table))
        elif change.action == "register table":
            identifier = (database, table.name)
            _attempt(
                f"register table {database}.{table.name}", partial(catalog.register_table, identifier, change.metadata)
            )
            if change.details:
                _attempt(f"update table {database}.{table.name}", partial(_update_table, catalog, database, table))
        else:
            _attempt(f"update table {database}.{table.name}", partial(_update_table, catalog, database, table))
