"""Which snapshot of each Iceberg table the views read: the current one, or one chosen by id or time.

The catalog knows each table's current metadata file (a local catalog's ``iceberg_tables`` rows, read
straight from its SQLite file because that is one cheap query a watcher can repeat every few seconds; the
Glue catalog through pyiceberg). pyiceberg reads that metadata file: its snapshots, their history and
the schema each was written with. DuckDB then scans exactly that metadata file and snapshot
(``iceberg_scan``), so a view never sees a commit half done: a commit is the catalog's switch to a new
metadata file, and the files of a snapshot do not change.

Time travel resolves in pyiceberg, the same way Iceberg's engines do: ``--as-of`` reads each table at the
snapshot that was current then (the table's history, not the snapshots' own times, so a rollback counts);
``--snapshot`` reads the one table that holds that snapshot id, the others at their current snapshot.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import StaticTable
from pyiceberg.table.metadata import TableMetadata

from core.errors import CatalogError, ConfigError
from core.iceberg import CATALOG_NAME, IcebergCatalog
from core.iceberg_tables import open_catalog

__all__ = ["MetadataCache", "ReadAt", "TableSource", "metadata_locations", "snapshot_rows", "table_sources"]


@dataclass(frozen=True)
class ReadAt:
    """A point in a table's past to read (time travel): a snapshot id, or a moment (UTC)."""

    snapshot_id: int | None = None
    as_of: datetime | None = None

    @classmethod
    def parse(cls, snapshot: str | None, as_of: str | None, now: datetime | None = None) -> ReadAt | None:
        """``--snapshot ID`` or ``--as-of TIMESTAMP`` (ISO 8601; without an offset it is UTC); None for neither.

        Raises:
            ConfigError: both given, an id that is no integer, a time that does not parse or is in the future.
        """
        snapshot, as_of = (snapshot or "").strip(), (as_of or "").strip()
        if snapshot and as_of:
            msg = "give --snapshot or --as-of, not both"
            raise ConfigError(msg)
        if snapshot:
            try:
                return cls(snapshot_id=int(snapshot))
            except ValueError:
                msg = (
                    f"--snapshot takes a snapshot id (an integer, see `python -m lakesql snapshots`), got {snapshot!r}"
                )
                raise ConfigError(msg) from None
        if not as_of:
            return None
        try:
            moment = datetime.fromisoformat(as_of)
        except ValueError:
            msg = f"--as-of takes a time like '2025-06-01 08:30:00' (UTC) or 2025-06-01T09:30:00+01:00, got {as_of!r}"
            raise ConfigError(msg) from None
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        if moment > (now or datetime.now(UTC)):
            msg = f"--as-of {moment.isoformat(sep=' ')} is in the future; the lake has no snapshot there yet"
            raise ConfigError(msg)
        return cls(as_of=moment)


@dataclass(frozen=True)
class TableSource:
    """What the view of one table reads.

    Attributes:
        metadata_location: the table's metadata file (the current one, which also lists the older snapshots).
        snapshot_id: the snapshot to read, or None when the table has none (it is empty).
        columns: the columns of the schema that snapshot was written with (the current schema without one).
        pinned: whether the snapshot was chosen (time travel) rather than the current one.
        unreadable: why the table cannot be read at the chosen time; the view raises it when a query reads it.
    """

    metadata_location: str
    snapshot_id: int | None
    columns: tuple[str, ...]
    pinned: bool = False
    unreadable: str | None = None


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _at(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(sep=" ", timespec="milliseconds")


def metadata_locations(iceberg: IcebergCatalog, tables: Iterable[str]) -> dict[str, str]:
    """The current metadata file of each of ``tables`` that the catalog has (a missing table is left out).

    Raises:
        CatalogError: the catalog cannot be read.
    """
    names = list(tables)
    if iceberg.sqlite_path is None:
        client = open_catalog(iceberg)
        found = {}
        for name in names:
            try:
                found[name] = client.load_table(iceberg.table_id(name)).metadata_location
            except NoSuchTableError:
                continue
            except Exception as exc:  # boto3 and pyiceberg errors alike: one line naming the table
                msg = f"cannot read table {iceberg.table_id(name)} from the {iceberg.kind} catalog: {exc}"
                raise CatalogError(msg) from exc
        return found
    if not iceberg.sqlite_path.exists():
        return {}  # no table was ever created: no lake yet
    try:
        with sqlite3.connect(iceberg.sqlite_path.as_uri() + "?mode=ro", uri=True, timeout=30) as db:
            rows = db.execute(
                "SELECT table_name, metadata_location FROM iceberg_tables "
                "WHERE catalog_name = ? AND table_namespace = ?",
                [CATALOG_NAME, iceberg.namespace],
            ).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return {}  # the catalog file exists, no table yet
        msg = f"cannot read the Iceberg catalog {iceberg.sqlite_path}: {exc}"
        raise CatalogError(msg) from exc
    wanted = set(names)
    return {str(name): str(location) for name, location in rows if name in wanted and location}


class MetadataCache:
    """Table metadata by metadata file, each read once: a metadata file never changes once committed."""

    def __init__(self, iceberg: IcebergCatalog) -> None:
        """Read metadata with the file IO settings of ``iceberg`` (the S3 endpoint of a lake on S3)."""
        self.properties = {k: v for k, v in iceberg.pyiceberg_properties().items() if k.startswith("s3.")}
        self.known: dict[str, TableMetadata] = {}

    def __call__(self, location: str) -> TableMetadata:
        """The metadata in ``location``.

        Raises:
            CatalogError: the file cannot be read.
        """
        if location not in self.known:
            try:
                self.known[location] = StaticTable.from_metadata(location, self.properties).metadata
            except Exception as exc:  # pyarrow's file systems and pydantic raise several types
                msg = f"cannot read the Iceberg metadata file {location}: {exc}"
                raise CatalogError(msg) from exc
        return self.known[location]

    def keep_only(self, locations: Iterable[str]) -> None:
        """Forget the metadata of files no table points at any more."""
        kept = set(locations)
        self.known = {k: v for k, v in self.known.items() if k in kept}


def _columns(metadata: TableMetadata, schema_id: int | None) -> tuple[str, ...]:
    schemas = {s.schema_id: s for s in metadata.schemas}
    schema = schemas.get(schema_id, metadata.schema()) if schema_id is not None else metadata.schema()
    return tuple(f.name for f in schema.fields)


def _source(name: str, location: str, metadata: TableMetadata, at: ReadAt | None) -> TableSource:
    current = metadata.current_snapshot()
    if at is None or at.as_of is None:
        snapshot = current
        if at is not None and at.snapshot_id is not None:
            snapshot = metadata.snapshot_by_id(at.snapshot_id) or current
        if snapshot is None:
            return TableSource(location, None, _columns(metadata, None))
        pinned = at is not None and snapshot.snapshot_id == at.snapshot_id
        return TableSource(location, snapshot.snapshot_id, _columns(metadata, snapshot.schema_id), pinned)
    if current is None:
        return TableSource(location, None, _columns(metadata, None))  # empty then as now
    millis = _millis(at.as_of)
    chosen = next((e for e in reversed(metadata.snapshot_log) if e.timestamp_ms <= millis), None)
    snapshot = metadata.snapshot_by_id(chosen.snapshot_id) if chosen is not None else None
    if snapshot is None:
        first = min((e.timestamp_ms for e in metadata.snapshot_log), default=current.timestamp_ms)
        why = f"table {name} has no snapshot at or before {_at(millis)}; its first is at {_at(first)}"
        return TableSource(location, None, _columns(metadata, None), pinned=True, unreadable=why)
    return TableSource(location, snapshot.snapshot_id, _columns(metadata, snapshot.schema_id), pinned=True)


def table_sources(
    iceberg: IcebergCatalog, tables: Iterable[str], at: ReadAt | None = None, cache: MetadataCache | None = None
) -> dict[str, TableSource]:
    """What each table's view reads (tables the catalog does not have yet are left out: their views are empty).

    Raises:
        CatalogError: the catalog or a metadata file cannot be read, or no table has the snapshot asked for.
    """
    read = cache or MetadataCache(iceberg)
    locations = metadata_locations(iceberg, tables)
    sources = {name: _source(name, location, read(location), at) for name, location in locations.items()}
    read.keep_only(locations.values())
    if at is not None and at.snapshot_id is not None and not any(s.pinned for s in sources.values()):
        msg = (
            f"no table of the lake has snapshot {at.snapshot_id}; "
            "`python -m lakesql snapshots <table>` lists a table's snapshots"
        )
        raise CatalogError(msg)
    return sources


SNAPSHOT_COLUMNS = ("snapshot_id", "committed_at", "operation", "added_rows", "deleted_rows", "total_rows", "current")


def snapshot_rows(iceberg: IcebergCatalog, table: str) -> list[tuple[object, ...]]:
    """One row per snapshot of ``table`` still kept (:data:`SNAPSHOT_COLUMNS`), oldest first.

    Raises:
        CatalogError: the table is not in the catalog, or its metadata cannot be read.
    """
    location = metadata_locations(iceberg, [table]).get(table)
    if location is None:
        msg = f"the catalog has no table {iceberg.table_id(table)} yet (`make stream` creates the tables)"
        raise CatalogError(msg)
    metadata = MetadataCache(iceberg)(location)
    rows: list[tuple[object, ...]] = []
    for snapshot in sorted(metadata.snapshots, key=lambda s: (s.timestamp_ms, s.sequence_number or 0)):
        summary = snapshot.summary
        counts = [
            summary.get(key) if summary else None for key in ("added-records", "deleted-records", "total-records")
        ]
        rows.append((
            snapshot.snapshot_id,
            datetime.fromtimestamp(snapshot.timestamp_ms / 1000, UTC),
            summary.operation.value if summary else None,
            *(int(c) if c is not None else 0 for c in counts),  # Iceberg leaves a count of 0 out of the summary
            snapshot.snapshot_id == metadata.current_snapshot_id,
        ))  # fmt: skip
    return rows
