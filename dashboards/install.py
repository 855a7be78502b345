"""Superset's own virtual environment, installed from the constraints file kept in the repository.

Superset 6.1 pins pandas < 2.2, which pyspark does not accept, so Superset cannot share ``.venv``.
``superset-constraints.txt`` pins every package of its environment (reproducible installs); the few
requirements below are what the project asks for, the constraints decide their versions. A second run
with nothing changed returns at once.
"""

from __future__ import annotations

import hashlib
import subprocess
import venv
from pathlib import Path

from core.errors import StackError

__all__ = ["CONSTRAINTS", "REQUIREMENTS", "ensure_superset"]

CONSTRAINTS = Path(__file__).with_name("superset-constraints.txt")
REQUIREMENTS = (
    "apache-superset",  # 6.1, pinned by the constraints
    "duckdb-engine",  # the local lake
    "duckdb",  # the same version as .venv's: Superset opens the DuckDB file the project writes
    "pyathena",  # a lake on S3, through Athena
    "gunicorn",
    "rich",  # 6.1.0 imports it without declaring it
    "cachetools",  # likewise
    "flask-caching",  # 2.5 breaks 6.1.0's start; the constraints keep 2.3
)


def _digest() -> str:
    return hashlib.sha256(CONSTRAINTS.read_bytes() + "\n".join(REQUIREMENTS).encode()).hexdigest()


def _run(step: str, cmd: list[str], log: Path) -> None:
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False)  # noqa: S603 - our own pip
    if result.returncode != 0:
        msg = f"installing Superset failed at step '{step}' (exit code {result.returncode}); see {log}"
        raise StackError(msg)


def ensure_superset(venv_dir: Path, log: Path) -> bool:
    """Create or update Superset's virtual environment; False when it was up to date already.

    Raises:
        StackError: a step failed; the message names it and the log.
    """
    stamp = venv_dir / ".telemetry-installed"
    digest = _digest()
    if stamp.exists() and stamp.read_text() == digest and (venv_dir / "bin" / "superset").exists():
        return False
    log.parent.mkdir(parents=True, exist_ok=True)
    python = venv_dir / "bin" / "python"
    if not python.exists():
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
        except (OSError, subprocess.CalledProcessError) as exc:
            msg = f"installing Superset failed at step 'create the virtual environment {venv_dir}': {exc}"
            raise StackError(msg) from exc
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-c", str(CONSTRAINTS)]
    # pip 23 cannot read Superset 6.1's metadata (it installs it without the `superset` command): pip first.
    _run("upgrade pip", [*pip, "pip"], log)
    _run("pip install Superset and its drivers", [*pip, *REQUIREMENTS], log)
    stamp.write_text(digest)
    return True
