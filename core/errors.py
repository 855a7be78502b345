"""The platform's error hierarchy.

Every expected failure is one of these; CLIs print ``str(error)`` as one line and exit non-zero,
so messages say what was expected, what was found and what to do next.
"""

from __future__ import annotations

__all__ = [
    "CatalogError",
    "ConfigError",
    "RegistryError",
    "RegistryUnavailableError",
    "RuleViolationError",
    "SchemaError",
    "SerializationError",
    "StackError",
    "TelemetryError",
]


class TelemetryError(Exception):
    """Root of every error the platform raises on purpose."""

    exit_code: int = 1


class ConfigError(TelemetryError):
    """A setting is missing, unknown, malformed or contradicts another."""

    exit_code = 2


class SchemaError(TelemetryError):
    """A schema file or the stream mapping is missing, unparsable or breaks a rule."""


class RegistryError(TelemetryError):
    """The Schema Registry answered with an error (HTTP status and registry error code kept)."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        """Keep the HTTP status and the registry's error code beside the message."""
        super().__init__(message)
        self.status = status
        self.code = code


class RegistryUnavailableError(RegistryError):
    """The Schema Registry could not be reached at all."""

    exit_code = 2


class SerializationError(TelemetryError):
    """A record does not match its schema, or bytes are not a valid Confluent-framed Avro message."""


class RuleViolationError(SerializationError):
    """A record breaks a data rule of its schema; the rule's name and the fields it reads are kept."""

    def __init__(self, message: str, *, rule: str = "", fields: tuple[str, ...] = ()) -> None:
        """Keep the rule's name and the field paths it reads beside the message."""
        super().__init__(message)
        self.rule = rule
        self.fields = fields

    def __reduce__(self) -> tuple[object, ...]:
        # A producer worker process hands its error to the parent: keep the rule across pickling.
        return (type(self), (str(self),), {"rule": self.rule, "fields": self.fields})


class CatalogError(TelemetryError):
    """A Glue/Athena catalog definition cannot be generated or applied."""


class StackError(TelemetryError):
    """The local stack (Kafka, registry, moto) cannot be set up, started or stopped."""
