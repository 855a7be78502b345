"""What a benchmark measured (the commit of the code it ran) and where its figures go (docs/benchmarks.md)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from core.catalog import project_root

__all__ = ["measured_commit", "write_section"]


def measured_commit(checkout: Path | None = None) -> str:
    """``commit abc1234`` of the working tree (this one, or ``checkout``), with `` plus uncommitted changes``
    when it differs from it."""
    program = shutil.which("git")

    def git(*args: str) -> str:
        if program is None:
            return ""
        done = subprocess.run([program, *args], cwd=checkout or project_root(), capture_output=True, text=True,
                              check=False)  # fmt: skip
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown (not a git checkout)"
    # The figures' own file does not count: `make bench` writes it bench after bench, on one commit.
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)docs/benchmarks.md")
    return f"commit {commit}" + (" plus uncommitted changes" if dirty else "")


def write_section(section: str, path: Path) -> None:
    """Replace the section of ``path`` headed by ``section``'s first line, or add it at the end."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    pattern = re.compile(rf"^{re.escape(section.splitlines()[0])}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    path.write_text(text.rstrip() + "\n", encoding="utf-8")
