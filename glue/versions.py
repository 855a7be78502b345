"""Which registry version each schema file is, so a table records exactly what it was generated from.

The streaming job writes the subject's latest registered schema, so the catalog refuses to describe
a schema file that is not registered, or that is older than the latest version: the table's columns
would not be what lands in the lake.
"""

from __future__ import annotations

from typing import Protocol

from core.catalog import Catalog
from core.errors import CatalogError
from core.registry import RegisteredSchema
from core.settings import ConnectionSettings

__all__ = ["SchemaLookup", "registered_versions"]


class SchemaLookup(Protocol):
    """The two registry calls used here (:class:`core.registry.RegistryClient` has them)."""

    def lookup(self, subject: str, schema: str) -> RegisteredSchema | None:
        """The version of ``subject`` equal to ``schema``, or None."""
        ...

    def versions(self, subject: str) -> list[int]:
        """Registered versions of ``subject``."""
        ...


def registered_versions(catalog: Catalog, registry: SchemaLookup, connection: ConnectionSettings) -> dict[str, int]:
    """The registry version of every stream's schema file, by declared subject.

    Args:
        catalog: the schema catalog.
        registry: a registry client.
        connection: for the subject prefix (``TELEMETRY_TOPIC_PREFIX``).

    Raises:
        CatalogError: a schema file is not registered, or a newer version is registered.
        RegistryUnavailableError: the registry cannot be reached.
    """
    versions = {}
    for stream in catalog.streams:
        subject = connection.subject(stream.subject)
        found = registry.lookup(subject, stream.schema_str)
        if found is None:
            msg = (
                f"{stream.schema_path.name} is not registered under subject {subject}; run `make schema-register` "
                "first (or pass --offline to generate the catalog without registry versions)"
            )
            raise CatalogError(msg)
        latest = max(registry.versions(subject), default=found.version)
        if found.version != latest:
            msg = (
                f"{stream.schema_path.name} is version {found.version} of {subject}, but version {latest} is "
                "registered and the streaming job writes the latest; update the schema file"
            )
            raise CatalogError(msg)
        versions[stream.subject] = found.version
    return versions
