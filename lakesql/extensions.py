"""DuckDB with the extensions the lake's views need, from the Python packages ``make setup`` installs.

DuckDB downloads an extension the first time a query needs it, unless told not to. Every connection of
this project is opened with autoinstall and autoload off, and installs the extensions from the files of
the ``duckdb-extension-*`` packages (pinned in pyproject.toml to the DuckDB version: ``INSTALL '<file>'``
through ``duckdb_extensions.import_extension``) into DuckDB's extension folder, then loads them: reading
the lake never reaches the network for code. Iceberg reads its manifests with the Avro extension, which
must be loaded first; httpfs is loaded only for a lake on S3.

Superset's DuckDB (another virtual environment, the same DuckDB version) loads the same extensions by
name from that folder (:data:`VIEW_EXTENSIONS`): the lake's DuckDB file is written by
:func:`lake_duckdb` first, so they are installed before Superset opens it.
"""

from __future__ import annotations

import duckdb
import duckdb_extensions

from core.errors import ConfigError

__all__ = ["OFFLINE_CONFIG", "VIEW_EXTENSIONS", "lake_duckdb", "load_extensions"]

VIEW_EXTENSIONS: tuple[str, ...] = ("avro", "iceberg")
"""The extensions the views over the Iceberg tables need, in the order to load them."""

OFFLINE_CONFIG: dict[str, str | bool] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
"""DuckDB settings of every connection over the lake: no extension fetched or loaded behind our back."""


def load_extensions(con: duckdb.DuckDBPyConnection, names: tuple[str, ...] = VIEW_EXTENSIONS) -> None:
    """Install ``names`` from their packages' files (a no-op once installed) and load them into ``con``.

    Raises:
        ConfigError: a package is missing or its file does not load (``make setup`` installs them).
    """
    for name in names:
        try:
            duckdb_extensions.import_extension(name, con=con)
            con.execute(f"LOAD {name}")
        except (ImportError, duckdb.Error) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            msg = f"DuckDB's {name} extension does not load from duckdb-extension-{name}: {first}; run `make setup`"
            raise ConfigError(msg) from exc


def lake_duckdb(database: str = ":memory:", *, s3: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection (in memory, or the file ``database``) with the lake's extensions loaded, offline.

    Args:
        database: ``:memory:`` or a DuckDB file to create or open.
        s3: load httpfs too (the lake is on S3).

    Raises:
        ConfigError: an extension does not load.
    """
    con = duckdb.connect(database, config=dict(OFFLINE_CONFIG))
    try:
        con.execute("SET TimeZone = 'UTC'")  # event times are UTC; show them so
        load_extensions(con, (*VIEW_EXTENSIONS, "httpfs") if s3 else VIEW_EXTENSIONS)
    except ConfigError:
        con.close()
        raise
    return con
