"""A lake of the earlier Parquet layout: refused by the job until it is imported into the Iceberg tables.

Releases before the Iceberg tables wrote ``<lake>/<entity>/dt=*/part-*.parquet`` and
``<lake>/_quarantine/<entity>/dt=*/``, with the commit protocol's ``<lake>/_staging/``. The job does not read
them: started on such a lake, it would leave those rows out of every query. So it refuses to start until
``python -m streaming import-parquet`` (:mod:`streaming.importer`) has copied them into the tables and left
:data:`IMPORTED_MARKER` beside them.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.errors import TelemetryError
from core.lake import PARTITION_COLUMN, QUARANTINE_DIR
from streaming.checkpoint import HadoopFs

__all__ = ["IMPORTED_MARKER", "legacy_folders", "refuse_unimported"]

IMPORTED_MARKER = "_imported_into_iceberg.json"
"""Written at the lake's root once every table of the earlier layout is in its Iceberg table."""


def legacy_folders(fs: HadoopFs, lake: str, entities: Iterable[str]) -> dict[str, str]:
    """The earlier layout's table folders that hold partitions, by Iceberg table name (``vehicle_quarantine``)."""
    found = {}
    for entity in entities:
        for table, folder in (
            (entity, f"{lake}/{entity}"),
            (f"{entity}_quarantine", f"{lake}/{QUARANTINE_DIR}/{entity}"),
        ):
            if fs.glob(f"{folder}/{PARTITION_COLUMN}=*"):
                found[table] = folder
    return found


def refuse_unimported(fs: HadoopFs, lake: str, entities: Iterable[str]) -> None:
    """Refuse a lake that holds tables of the earlier Parquet layout and has not imported them.

    Raises:
        TelemetryError: such tables are there, and no import finished.
    """
    if fs.exists(f"{lake}/{IMPORTED_MARKER}"):
        return
    found = legacy_folders(fs, lake, entities)
    if found:
        first = next(iter(found.values()))
        msg = (
            f"the lake {lake} holds Parquet tables of an earlier release ({first}, {len(found)} in all), which the "
            "Iceberg tables do not read; import them once with `python -m streaming import-parquet --lake "
            f"{lake}` (the job's checkpoints stay valid), then start the job again"
        )
        raise TelemetryError(msg)
