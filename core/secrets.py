"""Secrets: a value that never prints itself, read from an environment variable or a file, and JAAS quoting.

Secrets reach the platform only through the environment or files (``TELEMETRY_*_PASSWORD`` or
``TELEMETRY_*_PASSWORD_FILE``), never through command-line arguments, which any local user sees in ``ps``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from core.errors import ConfigError

__all__ = ["Secret", "jaas_quote", "read_secret"]


class Secret:
    """A string that never shows itself in ``repr``/``str`` (logs, tracebacks, settings dumps)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        """Wrap ``value``."""
        self._value = value

    def get(self) -> str:
        """The secret itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        """Masked."""
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        """Equal when the wrapped values are."""
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        """Hash of the wrapped value."""
        return hash(self._value)


def read_secret(env: Mapping[str, str], var: str, file_var: str) -> Secret | None:
    """The secret of ``var``, or the content of the file ``file_var`` names (one trailing newline dropped).

    Raises:
        ConfigError: both are set, or the file cannot be read or is empty.
    """
    value = env.get(var, "").strip()
    path = env.get(file_var, "").strip()
    if value and path:
        msg = f"{var} and {file_var} are both set; give the secret one way only"
        raise ConfigError(msg)
    if not path:
        return Secret(value) if value else None
    try:
        text = Path(path).read_text()
    except OSError as exc:
        msg = f"{file_var}: cannot read {path} ({exc.strerror or exc})"
        raise ConfigError(msg) from exc
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        msg = f"{file_var}: {path} is empty"
        raise ConfigError(msg)
    return Secret(text)


def jaas_quote(value: str) -> str:
    """``value`` as a double-quoted JAAS option value: backslashes and double quotes escaped.

    Kafka parses ``sasl.jaas.config`` with Java's ``StreamTokenizer``, which reads a backslash, a quote,
    ``n`` or ``r`` after a backslash inside quotes as that character (or a line break); unescaped, a
    quote would end the value early, a backslash would swallow the next character and a line break
    would end the string.
    """
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'
