"""What a benchmark measured: the commit of the code it ran, for the header of its section in docs/benchmarks.md."""

from __future__ import annotations

import shutil
import subprocess

from core.catalog import project_root

__all__ = ["measured_commit"]


def measured_commit() -> str:
    """``commit abc1234`` of the working tree, with `` plus uncommitted changes`` when it differs from it."""
    program = shutil.which("git")

    def git(*args: str) -> str:
        if program is None:
            return ""
        done = subprocess.run([program, *args], cwd=project_root(), capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown (not a git checkout)"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"commit {commit}" + (" plus uncommitted changes" if dirty else "")
