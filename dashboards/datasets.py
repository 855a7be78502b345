"""Superset datasets generated from the lake's tables: one per table, each column described by its Avro doc.

A dataset over a lake table reads its DuckDB view (or its Glue table in Athena) by name. Columns that
charts cannot use as they are become calculated columns of plain SQL both engines run: each leaf of a
struct (``location_latitude`` is ``"location"."latitude"``) and each binary field as base64 text (the
camera snapshots). Derived datasets (SQL over several tables) are in :mod:`dashboards.derived`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from core.lake_types import Column, PrimitiveType, StructType
from core.tables import LakeTable
from dashboards.dialects import SqlDialect
from lakesql.duckdb_types import duckdb_type

__all__ = ["NAMESPACE", "Dataset", "DatasetColumn", "stable_uuid", "superset_sql", "table_dataset"]

NAMESPACE = uuid.UUID("3f6c1a52-8d0e-4d8e-9a57-6f1f3c2b9e10")
"""Namespace of every uuid in the bundle: the same name gives the same uuid, so a re-import updates in place."""

_TEMPORAL = ("TIMESTAMP", "DATE")


def stable_uuid(kind: str, key: str) -> str:
    """The uuid of a bundle object (``dataset``, ``chart``...) named ``key``, the same on every run."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


@dataclass(frozen=True)
class DatasetColumn:
    """A column of a dataset.

    Attributes:
        name: the column name charts refer to.
        type: its DuckDB type (Superset shows it and derives temporal and numeric columns from it).
        description: what it holds (the Avro doc for a schema field).
        expression: SQL of a calculated column, or None for a column of the table or query.
        label: what charts and filters call it (with its unit), or empty to show ``name``.
    """

    name: str
    type: str
    description: str
    expression: str | None = None
    label: str = ""

    @property
    def is_dttm(self) -> bool:
        """Whether charts may use it as a time axis."""
        return self.type.startswith(_TEMPORAL)


@dataclass(frozen=True)
class Dataset:
    """A Superset dataset: a lake table by name, or a SQL query over several (a virtual dataset).

    Attributes:
        key: its stable name in the bundle (also the table name Superset shows).
        description: what it holds.
        columns: its columns, in order.
        main_dttm_col: the default time column, if any.
        sql: the query of a virtual dataset; None for a lake table read by name.
        table: the lake table it reads (None for a virtual dataset).
        schema: the schema (DuckDB) or Glue database (Athena) of the lake's tables.
        filtered_inside: columns whose dashboard filters (native and cross-filters; the time range for a
            temporal one) are applied inside the dataset's query, keeping the rows where the column is NULL: a
            map's basemap under a filter on the vehicle or the time, which an outer ``WHERE`` would drop
            (:func:`superset_sql`). Filters on other columns apply as usual.
    """

    key: str
    description: str
    columns: tuple[DatasetColumn, ...]
    main_dttm_col: str | None
    schema: str
    sql: str | None = None
    table: LakeTable | None = field(default=None, compare=False)
    filtered_inside: tuple[str, ...] = ()

    @property
    def uuid(self) -> str:
        """Its stable uuid."""
        return stable_uuid("dataset", self.key)

    def column(self, name: str) -> DatasetColumn:
        """The column called ``name``; a KeyError names the dataset otherwise."""
        for column in self.columns:
            if column.name == name:
                return column
        msg = f"dataset {self.key} has no column {name!r}"
        raise KeyError(msg)


def superset_sql(dataset: Dataset, dialect: SqlDialect) -> str | None:
    """The SQL Superset holds for ``dataset``: its query, as a Jinja template when filters apply inside it.

    Superset renders the template per chart query (``ENABLE_TEMPLATE_PROCESSING``). ``filter_values`` takes the
    values a dashboard filter or a cross-filter holds for a column and removes that filter from the outer query;
    ``get_time_filter`` gives the bounds of the dashboard's time range (none when it is "No filter"). Rows where
    the column is NULL always stay; with no filter on a column, every row stays.
    """
    if not dataset.filtered_inside or dataset.sql is None:
        return dataset.sql
    steps, conditions = [], []
    for n, name in enumerate(dataset.filtered_inside):
        column = dialect.column(name)
        if dataset.column(name).is_dttm:
            steps.append("{% set window = get_time_filter(target_type='TIMESTAMP') %}")
            for bound, operator in (("from_expr", ">="), ("to_expr", "<")):
                conditions.append(f"{{% if window.{bound} %}} AND ({column} IS NULL OR {column} {operator} "
                                  f"{{{{ window.{bound} }}}}){{% endif %}}")  # fmt: skip
        else:
            steps.append(f"{{% set chosen{n} = filter_values({name!r}, remove_filter=True) %}}")
            conditions.append(f"{{% if chosen{n} %}} AND ({column} IS NULL OR {column} IN {{{{ chosen{n}|where_in }}}})"
                              "{% endif %}")  # fmt: skip
    return f"{''.join(steps)}SELECT * FROM ({dataset.sql}) AS filtered_inside WHERE TRUE{''.join(conditions)}"


def _leaves(column: Column, path: tuple[str, ...], doc: str) -> Iterator[tuple[tuple[str, ...], Column, str]]:
    if isinstance(column.type, StructType):
        for child in column.type.fields:
            yield from _leaves(child, (*path, child.name), child.doc or doc)
    else:
        yield path, column, doc


def _table_columns(table: LakeTable, dialect: SqlDialect) -> Iterator[DatasetColumn]:
    for column in table.columns:
        if isinstance(column.type, StructType):
            for path, leaf, doc in _leaves(column, (column.name,), column.doc):
                yield DatasetColumn("_".join(path), duckdb_type(leaf.type), doc, dialect.column(*path))
        elif column.type == PrimitiveType("binary"):
            yield DatasetColumn(
                f"{column.name}_base64",
                "VARCHAR",
                f"{column.doc} (base64)".strip(),
                dialect.base64(dialect.column(column.name)),
            )
        else:
            yield DatasetColumn(column.name, duckdb_type(column.type), column.doc)


def table_dataset(table: LakeTable, schema: str, dialect: SqlDialect) -> Dataset:
    """The dataset of one lake table, read by name from ``schema``."""
    time_column = "ingested_at" if table.quarantine else "event_time"
    return Dataset(
        key=table.name,
        description=table.description,
        columns=tuple(_table_columns(table, dialect)),
        main_dttm_col=time_column,
        schema=schema,
        table=table,
    )
