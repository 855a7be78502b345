"""Find an Iceberg table already at a location that Glue does not know, so ``apply`` registers it, never hides it.

A table's folder can hold a table the Glue catalog has no entry for: the Glue database was deleted and
recreated, the table was written through another catalog (the local JDBC catalog of ``make demo``), or the
entry was dropped without purging. Creating a new, empty table there would hide its snapshots, and the next
orphan-file removal would delete its data. So ``apply`` registers the newest metadata file instead
(Iceberg's ``register_table``), then evolves the table like any other.

Metadata files are named ``<version>-<uuid>.metadata.json`` by Iceberg's catalogs (``v<version>.metadata.json``
by its Hadoop tables); the highest version is the newest. Two files of the highest version mean two writers
committed through two catalogs: that is refused, since only a person can tell which history is the table.
The folder is listed with boto3 (S3, the same endpoint chain as Glue) or the file system (a local lake).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from core.errors import CatalogError

__all__ = ["newest_metadata", "same_location"]

_METADATA = re.compile(r"^(?:v(?P<hadoop>\d+)|(?P<version>\d+)-[0-9a-fA-F-]+)\.(?:gz\.)?metadata\.json$")


def _names(folder: str) -> list[str]:
    """The file names in ``folder`` (``s3://`` or ``file://``), empty when it does not exist."""
    parsed = urlparse(folder)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
        return sorted(p.name for p in path.iterdir() if p.is_file()) if path.is_dir() else []
    prefix = parsed.path.lstrip("/").rstrip("/") + "/"
    names: list[str] = []
    try:
        pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=parsed.netloc, Prefix=prefix)
        for page in pages:
            names += [item["Key"][len(prefix) :] for item in page.get("Contents", [])]
    except (BotoCoreError, ClientError) as exc:
        msg = f"cannot list {folder} to look for an existing table: {exc}"
        raise CatalogError(msg) from exc
    return sorted(name for name in names if "/" not in name)


def newest_metadata(location: str) -> str | None:
    """The newest metadata file of an Iceberg table at ``location``, or None when there is none.

    Raises:
        CatalogError: the folder cannot be listed, or two metadata files share the highest version.
    """
    folder = f"{location.rstrip('/')}/metadata"
    versions: dict[int, list[str]] = {}
    for name in _names(folder):
        match = _METADATA.match(name)
        if match:
            versions.setdefault(int(match["version"] or match["hadoop"]), []).append(name)
    if not versions:
        return None
    newest = versions[max(versions)]
    if len(newest) > 1:
        msg = (
            f"{folder} holds {len(newest)} metadata files of version {max(versions)} ({', '.join(newest)}): two "
            "catalogs committed to one table; register the right one by hand (pyiceberg's register_table)"
        )
        raise CatalogError(msg)
    return f"{folder}/{newest[0]}"


def same_location(one: str, other: str) -> bool:
    """Whether two locations name one folder: ``file:/a`` is ``file:///a/``, ``s3a://b/k`` is ``s3://b/k``."""

    def key(uri: str) -> tuple[str, str, str]:
        parsed = urlparse(uri.rstrip("/"))
        return ("s3" if parsed.scheme in ("s3a", "s3n") else parsed.scheme, parsed.netloc, parsed.path)

    return key(one) == key(other)
