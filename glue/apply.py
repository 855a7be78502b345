"""Plan and apply the generated catalog against a live Glue Data Catalog (boto3, the edge).

The endpoint and credentials come from the standard AWS chain: ``AWS_ENDPOINT_URL`` or
``AWS_ENDPOINT_URL_GLUE`` (a moto server in tests and the local demo), ``AWS_PROFILE`` or the
``AWS_ACCESS_KEY_ID`` pair, an instance role... Nothing here picks an endpoint by itself.
Applying is idempotent: a table that already matches is left alone, so a second ``apply`` makes no
call that writes. A field removed from a schema keeps its column, marked deprecated (see :mod:`glue.plan`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from core.errors import CatalogError
from glue.plan import Change, diff_table, keep_removed_columns, merged_input
from glue.settings import GlueSettings
from glue.tables import TableDefinition, database_input, table_input

__all__ = ["NOT_FOUND", "apply_changes", "call_glue", "glue_client", "plan_changes"]

NOT_FOUND = "EntityNotFoundException"


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


def call_glue(what: str, function: Callable[..., Any], **kwargs: Any) -> Any:
    """Call Glue; every failure becomes a one-line CatalogError saying what was being done."""
    try:
        return function(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", str(exc))
        if code == NOT_FOUND:
            raise
        hint = " (check the role's policy: build/catalog/iam/catalog-applier-policy.json)" if "Denied" in code else ""
        msg = f"Glue refused to {what}: {code}: {message}{hint}"
        raise CatalogError(msg) from exc
    except BotoCoreError as exc:
        msg = (
            f"cannot {what}: {exc}; set AWS credentials (AWS_PROFILE or the default chain) and, for a local "
            "moto server, AWS_ENDPOINT_URL=http://127.0.0.1:5000"
        )
        raise CatalogError(msg) from exc


def _get(what: str, function: Callable[..., Any], **kwargs: Any) -> Any:
    """A Glue read that returns None when the entity does not exist."""
    try:
        return call_glue(what, function, **kwargs)
    except ClientError as exc:  # only EntityNotFoundException is re-raised by _call
        if exc.response.get("Error", {}).get("Code") == NOT_FOUND:
            return None
        raise


def plan_changes(client: Any, settings: GlueSettings, tables: list[TableDefinition]) -> list[Change]:
    """What ``apply`` would do: create the database, create or update tables; empty when up to date."""
    database = settings.database
    changes: list[Change] = []
    found = _get(f"read database {database}", client.get_database, Name=database)
    if found is None:
        changes.append(Change("create database", database, payload=database_input(settings)))
    for table in tables:
        wanted = table_input(table)
        live = None
        if found is not None:
            answer = _get(
                f"read table {database}.{table.name}", client.get_table, DatabaseName=database, Name=table.name
            )
            live = answer["Table"] if answer else None
        if live is None:
            changes.append(Change("create table", table.name, payload=wanted))
            continue
        wanted = keep_removed_columns(wanted, live)
        details = diff_table(wanted, live)
        if details:
            changes.append(Change("update table", table.name, details, merged_input(wanted, live)))
    return changes


def apply_changes(client: Any, settings: GlueSettings, changes: list[Change]) -> None:
    """Carry out planned changes, in order (the database before its tables)."""
    database = settings.database
    for change in changes:
        if change.action == "create database":
            call_glue(f"create database {database}", client.create_database, DatabaseInput=dict(change.payload))
        elif change.action == "create table":
            call_glue(
                f"create table {database}.{change.name}",
                client.create_table,
                DatabaseName=database,
                TableInput=dict(change.payload),
            )
        else:
            call_glue(
                f"update table {database}.{change.name}",
                client.update_table,
                DatabaseName=database,
                TableInput=dict(change.payload),
                SkipArchive=False,
            )
