"""Secrets: a value that never prints itself, where it may be read and written, and who may see it.

Secrets reach the platform only through the environment or files (``TELEMETRY_*_PASSWORD`` or
``TELEMETRY_*_PASSWORD_FILE``), never through command-line arguments, which any local user sees in ``ps``.
Every file the platform writes that holds one (passwords, JAAS lines, keys, the Superset secret) is
written by :func:`write_private` (or kept by :func:`keep_private`): mode 0600 whatever the umask, and
whatever mode an earlier file of that name had, in a folder :func:`private_dir` made 0700. A child
process gets :func:`child_env`: the basics a process needs and only the variables it names, so a secret
in the parent's environment never reaches a child that has no use for it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from core.errors import ConfigError

__all__ = ["Secret", "child_env", "jaas_quote", "keep_private", "private_dir", "read_secret", "write_private"]

# What any child needs to run at all (programs, locale, home, temp folder, time zone), and nothing that
# carries a credential.
_BASICS = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "JAVA_HOME")
_BASIC_PREFIXES = ("LC_",)


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


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner may enter (0700), made with its missing parents (also 0700).

    An existing folder is narrowed to 0700 too: it may have been made by an earlier version or by hand.
    """
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process: narrowed below
            folder.mkdir(mode=0o700)
        folder.chmod(0o700)
    path.chmod(0o700)
    return path


def write_private(path: Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` as a file only its owner may read (0600), whatever the umask.

    The data goes to a new file in the same folder (``mkstemp`` makes it 0600), which then replaces
    ``path``: an existing file never keeps a wider mode, and a reader never sees half a file.
    """
    payload = data.encode() if isinstance(data, str) else data
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
        Path(name).replace(path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return path


def keep_private(path: Path, make: Callable[[], str]) -> str:
    """The text kept in ``path`` (narrowed to 0600), or ``make()`` written there first when it does not exist.

    For secrets made once and kept across restarts (generated passwords, Superset's secret key).
    """
    if path.exists():
        path.chmod(0o600)
    else:
        write_private(path, make())
    return path.read_text(encoding="utf-8").strip()


def child_env(env: Mapping[str, str], keep: Iterable[str] = (), **extra: str) -> dict[str, str]:
    """The environment of a child process: the basics, the variables of ``env`` named in ``keep``, and ``extra``.

    A name in ``keep`` ending in ``*`` keeps every variable with that prefix. Nothing else of ``env``
    passes, so a password or an AWS key set for the parent reaches only the children that name it.
    """
    names = (*_BASICS, *keep)
    exact = {n for n in names if not n.endswith("*")}
    prefixes = (*_BASIC_PREFIXES, *(n[:-1] for n in names if n.endswith("*")))
    kept = {k: v for k, v in env.items() if k in exact or k.startswith(prefixes)}
    return kept | extra
