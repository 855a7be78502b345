"""Turn what the simulator knows into records shaped by the schemas in ``schemas/``.

The simulator states facts by field name; which fields a record has, and the defaults of the ones it
does not state, come from the stream's schema at run time. A fact the schema does not have, or a
field without default the simulator does not state, is a drift between the two and fails loudly.
"""

from __future__ import annotations

import copy
from typing import Any

from core.catalog import Catalog, Stream
from core.errors import SchemaError

__all__ = ["RecordBuilder", "builders_for"]

_MISSING = object()


class RecordBuilder:
    """Builds the records of one stream; create one per stream and reuse it."""

    def __init__(self, stream: Stream) -> None:
        """Read the field names and defaults of ``stream``'s schema."""
        self.stream = stream
        fields = stream.model.fields
        self._names = frozenset(f.name for f in fields)
        self._defaults = {f.name: f.default if f.has_default else _MISSING for f in fields}

    def build(self, facts: dict[str, Any]) -> dict[str, Any]:
        """The record for ``facts``: every schema field, stated or defaulted, and nothing else.

        Raises:
            SchemaError: a fact is not a field of the schema, or a field without default is not stated.
        """
        if facts.keys() == self._names:
            return facts
        extra = facts.keys() - self._names
        if extra:
            msg = (
                f"the simulator states {sorted(extra)} but {self.stream.schema_path.name} has no such field; "
                "the simulator and the schema have drifted apart"
            )
            raise SchemaError(msg)
        record = dict(facts)
        for name, default in self._defaults.items():
            if name in record:
                continue
            if default is _MISSING:
                msg = (
                    f"{self.stream.schema_path.name} requires field {name!r} (no default) "
                    "that the simulator does not produce; the simulator and the schema have drifted apart"
                )
                raise SchemaError(msg)
            record[name] = copy.deepcopy(default)
        return record


def builders_for(catalog: Catalog) -> dict[str, RecordBuilder]:
    """A builder for every stream of ``catalog``, keyed by stream name."""
    return {stream.name: RecordBuilder(stream) for stream in catalog.streams}
