"""Earlier versions of a schema file, from git history: what the offline check compares against.

``git log --format=%H REV -- <file>`` lists the commits that changed the file up to ``REV``, and
``git show <commit>:<file>`` gives its text there. Identical consecutive contents count once.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError

__all__ = ["GitVersion", "git_versions"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GitVersion:
    """One committed version of a schema file."""

    commit: str
    text: str

    @property
    def label(self) -> str:
        """``git 1a2b3c4``: how reports name this version."""
        return f"git {self.commit[:7]}"


def _git(folder: Path, *args: str) -> str:
    git = shutil.which("git")
    if git is None:
        msg = "git is not on PATH; the offline check (--against REV) reads the schemas' git history"
        raise ConfigError(msg)
    try:
        done = subprocess.run(  # noqa: S603 - runs git with arguments built here, no shell
            [git, "-C", str(folder), *args], capture_output=True, text=True, check=False, timeout=60
        )
    except subprocess.TimeoutExpired as exc:
        msg = f"git {' '.join(args)} took over 60 s in {folder}"
        raise ConfigError(msg) from exc
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        msg = f"git {' '.join(args)} failed in {folder}: {detail}"
        raise ConfigError(msg)
    return done.stdout


def _resolve(folder: Path, rev: str) -> str:
    try:
        return _git(folder, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
    except ConfigError as exc:
        msg = f"--against {rev}: no such git revision in {folder} (try HEAD, main or main~3)"
        raise ConfigError(msg) from exc


def git_versions(path: Path, rev: str = "HEAD") -> list[GitVersion]:
    """The committed versions of ``path`` up to and including ``rev``, oldest first.

    Args:
        path: the schema file (its working copy need not exist).
        rev: a git revision such as ``HEAD``, ``main`` or ``main~3``.

    Returns:
        One entry per distinct content, oldest first; empty when the file was never committed by ``rev``.

    Raises:
        ConfigError: git is missing, the folder is not in a repository, or ``rev`` does not exist.
    """
    folder = path.resolve().parent
    try:
        top = Path(_git(folder, "rev-parse", "--show-toplevel").strip())
    except ConfigError as exc:
        msg = f"{folder} is not in a git repository; --against REV compares with the schemas' git history"
        raise ConfigError(msg) from exc
    relative = path.resolve().relative_to(top.resolve()).as_posix()
    commit = _resolve(folder, rev)
    commits = _git(top, "log", "--format=%H", commit, "--", relative).split()
    versions: list[GitVersion] = []
    for sha in reversed(commits):
        try:
            text = _git(top, "show", f"{sha}:{relative}")
        except ConfigError:
            continue  # the commit deleted or renamed the file
        try:
            content = json.loads(text)
        except json.JSONDecodeError:
            log.warning("skipping %s at %s: not valid JSON", relative, sha[:7])
            continue
        if versions and json.loads(versions[-1].text) == content:
            continue
        versions.append(GitVersion(sha, text))
    return versions
