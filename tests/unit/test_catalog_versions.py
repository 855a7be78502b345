"""Tables record the registry version of their schema; unregistered or outdated schema files are refused."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from core.catalog import load_catalog
from core.errors import CatalogError
from core.registry import RegisteredSchema
from core.settings import ConnectionSettings
from glue.versions import registered_versions


@dataclass
class FakeRegistry:
    """Answers lookups from a table of (subject, schema text) -> version."""

    known: dict[tuple[str, str], int] = field(default_factory=dict)
    latest: dict[str, int] = field(default_factory=dict)

    def lookup(self, subject: str, schema: str) -> RegisteredSchema | None:
        version = self.known.get((subject, schema))
        return RegisteredSchema(subject, version, 100 + version, schema) if version else None

    def versions(self, subject: str) -> list[int]:
        return list(range(1, self.latest.get(subject, 0) + 1))


def registry_with_all(prefix: str = "") -> FakeRegistry:
    catalog = load_catalog()
    return FakeRegistry(
        known={(prefix + s.subject, s.schema_str): 2 for s in catalog.streams},
        latest={prefix + s.subject: 2 for s in catalog.streams},
    )


def test_versions_by_declared_subject_with_the_topic_prefix_applied() -> None:
    catalog = load_catalog()
    connection = ConnectionSettings(topic_prefix="t1_")
    versions = registered_versions(catalog, registry_with_all("t1_"), connection)
    assert versions == {s.subject: 2 for s in catalog.streams}


def test_an_unregistered_schema_file_is_refused() -> None:
    registry = registry_with_all()
    registry.known = {k: v for k, v in registry.known.items() if k[0] != "gps_data-value"}
    with pytest.raises(
        CatalogError,
        match=re.escape("gps.avsc is not registered under subject gps_data-value; run `make schema-register`"),
    ):
        registered_versions(load_catalog(), registry, ConnectionSettings())


def test_a_schema_file_older_than_the_latest_version_is_refused() -> None:
    registry = registry_with_all()
    registry.latest["weather_data-value"] = 3
    with pytest.raises(CatalogError, match=re.escape("weather.avsc is version 2 of weather_data-value, but version 3")):
        registered_versions(load_catalog(), registry, ConnectionSettings())
