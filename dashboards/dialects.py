"""The SQL functions the dashboards need that DuckDB (local lake) and Athena (lake on S3) spell differently.

Everything else in the datasets is SQL both engines accept (``max_by``, ``date_trunc``, ``date_diff``,
``||``, ``INTERVAL '1' MINUTE``, ``VALUES`` in ``FROM``); tests parse every dataset in its dialect.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ConfigError
from core.sql import quote_identifier

__all__ = ["ATHENA", "DIALECTS", "DUCKDB", "SqlDialect", "dialect"]


@dataclass(frozen=True)
class SqlDialect:
    """One engine's spelling of the functions that differ.

    Attributes:
        name: the engine (``duckdb``, ``athena``), also sqlglot's dialect name.
        base64_template: ``{0}`` is a binary expression.
        percentile_template: ``{0}`` a numeric expression, ``{1}`` the fraction (0.95).
        ordered_join_template: ``{0}`` a text expression, ``{1}`` the ordering expression; joins with commas.
        dataset_views: the derived datasets and the maps' basemap are views beside the lake's, in the file the
            dashboards read (DuckDB, whose views the dashboards write), and a dataset's SQL selects from its view;
            otherwise (Athena) each dataset holds its whole query, the basemap as ``VALUES``.
    """

    name: str
    base64_template: str
    percentile_template: str
    ordered_join_template: str
    dataset_views: bool = False

    def base64(self, expression: str) -> str:
        """Binary as base64 text (for an ``<img src="data:...">``)."""
        return self.base64_template.format(expression)

    def percentile(self, expression: str, fraction: float) -> str:
        """The ``fraction`` quantile of ``expression`` over a group."""
        return self.percentile_template.format(expression, fraction)

    def ordered_join(self, expression: str, order_by: str) -> str:
        """``expression`` of a group's rows joined with commas, in ``order_by`` order."""
        return self.ordered_join_template.format(expression, order_by)

    def table(self, schema: str, table: str) -> str:
        """A schema-qualified, quoted table name."""
        return f"{quote_identifier(schema, self.name)}.{quote_identifier(table, self.name)}"

    def column(self, *path: str) -> str:
        """A quoted column, or a struct field path (``"location"."latitude"``)."""
        return ".".join(quote_identifier(p, self.name) for p in path)


DUCKDB = SqlDialect(
    name="duckdb",
    base64_template="base64({0})",
    percentile_template="quantile_cont({0}, {1})",
    ordered_join_template="string_agg({0}, ',' ORDER BY {1})",
    dataset_views=True,
)
ATHENA = SqlDialect(
    name="athena",
    base64_template="to_base64({0})",
    percentile_template="approx_percentile({0}, {1})",
    ordered_join_template="array_join(array_agg({0} ORDER BY {1}), ',')",
)
DIALECTS = {d.name: d for d in (DUCKDB, ATHENA)}


def dialect(name: str) -> SqlDialect:
    """The dialect called ``name``; a clear error lists the known ones."""
    try:
        return DIALECTS[name]
    except KeyError:
        msg = f"unknown dashboard engine {name!r}; use one of {', '.join(DIALECTS)}"
        raise ConfigError(msg) from None
