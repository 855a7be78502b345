"""The registered writer schemas the producer serializes with (auto-registration stays off)."""

from __future__ import annotations

import logging

from fastavro.schema import to_parsing_canonical_form

from core.catalog import Catalog
from core.registry import RegistryClient
from core.settings import ConnectionSettings
from producer.serializer import WireSerializer

__all__ = ["lookup_writers"]

log = logging.getLogger(__name__)


def lookup_writers(settings: ConnectionSettings, catalog: Catalog) -> dict[str, tuple[str, WireSerializer]]:
    """For each stream: its (prefixed) topic and a serializer for its subject's latest registered schema.

    Raises:
        RegistryUnavailableError: the registry cannot be reached.
        RegistryError: a subject has no registered version (the message says to run `make schema-register`).
    """
    client = RegistryClient(settings.registry_url, auth=settings.registry_auth())
    writers = {}
    for stream in catalog.streams:
        subject = settings.subject(stream.subject)
        registered = client.latest(subject)
        serializer = WireSerializer(subject, registered.schema_id, registered.schema)
        if to_parsing_canonical_form(serializer.parsed) != to_parsing_canonical_form(stream.parsed):
            log.warning(
                "%s differs from version %d (id %d) of subject %s, the latest registered; writing with the "
                "registered schema (see `make schema-check`)",
                stream.schema_path.name,
                registered.version,
                registered.schema_id,
                subject,
            )
        writers[stream.name] = (settings.topic(stream.topic), serializer)
    return writers
