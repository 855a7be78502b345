"""The archive of the project's code for ``spark-submit --py-files``: the ``core`` and ``streaming`` packages.

The driver needs them (the executors run only Spark's own Avro and Kafka code, no Python), so the
archive is what ships the job to a cluster; the connector jars go with ``--jars`` from the Maven cache.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from core.catalog import project_root

__all__ = ["PACKAGES", "build_archive"]

PACKAGES = ("core", "streaming")


def build_archive(target: Path, root: Path | None = None) -> Path:
    """Write the packages' Python files into the zip ``target`` (replaced if there); returns it."""
    root = root or project_root()
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for package in PACKAGES:
            for source in sorted((root / package).rglob("*.py")):
                if "__pycache__" not in source.parts:
                    archive.write(source, source.relative_to(root).as_posix())
    return target
