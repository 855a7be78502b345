"""``python -m glue``: see :mod:`glue.cli`."""

from glue.cli import entry

entry()
