"""`make setup`: the virtual environment and the JVM artifacts, each redone only when its input changed.

Runs with the system Python and the standard library only, since it creates the environment the
rest of the project runs in. Maven resolves ``jvm/pom.xml`` (one profile per component) into
``.cache/jvm/<profile>``; Maven's own download cache (``~/.m2``) keeps a second run offline.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
JVM = CACHE / "jvm"
STAMPS = CACHE / "stamps"
VENV = ROOT / ".venv"
POM = ROOT / "jvm" / "pom.xml"
PROFILES = ("kafka", "apicurio", "spark")
MIN_JAVA = 17


class SetupError(Exception):
    """An expected failure: printed as one line, exit 2."""


def _say(message: str) -> None:
    print(f"setup: {message}", flush=True)  # noqa: T201 - this is a CLI


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()


def _stamp_ok(name: str, digest: str) -> bool:
    stamp = STAMPS / name
    return stamp.exists() and stamp.read_text() == digest


def _write_stamp(name: str, digest: str) -> None:
    STAMPS.mkdir(parents=True, exist_ok=True)
    (STAMPS / name).write_text(digest)


def check_tools() -> None:
    """Java 17+ and Maven must be on PATH."""
    java = shutil.which("java")
    if not java:
        msg = f"Java {MIN_JAVA}+ is required but `java` is not on PATH; install a JDK {MIN_JAVA} (e.g. openjdk-17-jdk)"
        raise SetupError(msg)
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0" style
        major = int(match.group(2))
    if major < MIN_JAVA:
        msg = f"Java {MIN_JAVA}+ is required, found {major or 'an unknown version'} at {java}"
        raise SetupError(msg)
    if not shutil.which("mvn"):
        msg = "Maven is required but `mvn` is not on PATH; install Maven 3.8+ (e.g. apt-get install maven)"
        raise SetupError(msg)


def ensure_venv() -> None:
    """Create .venv and install the project (editable, with dev extras) when pyproject.toml changed."""
    digest = _digest(ROOT / "pyproject.toml")
    python = VENV / "bin" / "python"
    if python.exists() and _stamp_ok("venv", digest):
        return
    if not python.exists():
        _say("creating .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    _say("installing the project and its dependencies into .venv")
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True, cwd=ROOT)
    _write_stamp("venv", digest)


def ensure_jvm() -> None:
    """Resolve each pom.xml profile into .cache/jvm/<profile> when pom.xml changed."""
    digest = _digest(POM)
    for profile in PROFILES:
        target = JVM / profile
        if _stamp_ok(f"jvm-{profile}", digest) and any(target.iterdir()):
            continue
        _say(f"resolving JVM artifacts for {profile} with Maven")
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        (ROOT / "jvm" / "empty-repo").mkdir(exist_ok=True)
        # The registry is one self-contained archive (copy); the others are dependency trees.
        goal = (
            ["dependency:copy"] if profile == "apicurio" else ["dependency:copy-dependencies", "-DincludeScope=runtime"]
        )
        # The empty repository as a proper file URI: a checkout path with a space or a "%" is not a URL as it is.
        empty = f"-Dempty.repo={(ROOT / 'jvm' / 'empty-repo').as_uri()}"
        cmd = ["mvn", "-B", "-q", "-f", str(POM), "-P", profile, *goal, f"-DoutputDirectory={target}", empty]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            errors = [line for line in result.stdout.splitlines() if "ERROR" in line][:3]
            msg = f"Maven could not resolve the {profile} artifacts: {' '.join(errors) or result.stderr[-500:]}"
            raise SetupError(msg)
        if profile == "apicurio":
            _unpack_apicurio(target)
        _write_stamp(f"jvm-{profile}", digest)


def _unpack_apicurio(target: Path) -> None:
    archives = list(target.glob("apicurio-registry-app-*-all.tar.gz"))
    if len(archives) != 1:
        msg = f"expected one Apicurio distribution in {target}, found {len(archives)}"
        raise SetupError(msg)
    app = target / "quarkus-app"
    with tarfile.open(archives[0]) as tar:
        tar.extractall(app, filter="data")
    archives[0].unlink()
    if not list(app.glob("*-runner.jar")) and not (app / "quarkus-run.jar").exists():
        msg = f"the Apicurio distribution has no runnable jar (*-runner.jar or quarkus-run.jar) under {app}"
        raise SetupError(msg)


def main() -> int:
    """Set everything up; exit 0, or 2 with one line on an expected failure."""
    started = time.monotonic()
    try:
        check_tools()
        ensure_venv()
        ensure_jvm()
    except SetupError as exc:
        print(f"setup: error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"setup: error: {' '.join(map(str, exc.cmd))} failed with exit code {exc.returncode}", file=sys.stderr)  # noqa: T201
        return 2
    _say(f"ready in {time.monotonic() - started:.1f}s (.venv and .cache/jvm up to date)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
