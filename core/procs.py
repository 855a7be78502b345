"""Background processes with pid files: start detached, tell alive, stop by pid, check ports."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from core.errors import StackError

__all__ = ["alive", "port_open", "read_pid", "start", "stop", "tail"]


def read_pid(pid_file: Path, command: Sequence[str] | None = None) -> int | None:
    """The pid recorded in ``pid_file`` if that very process is still alive, else None.

    A pid file outlives its process (a reboot, a crash) and the pid may since belong to another
    process: the file also records when the process started, and a pid whose process started at
    another time is not ours. A file of an earlier version (the pid alone) is trusted only when the
    process's command line is ``command``.
    """
    try:
        pid_text, _, started = pid_file.read_text().strip().partition(" ")
        pid = int(pid_text)
    except (FileNotFoundError, ValueError):
        return None
    if not alive(pid):
        return None
    if started:
        return pid if _started(pid) == started else None
    line = _command_line(pid)
    # A script (moto_server) runs as its interpreter followed by the script's path and arguments.
    return pid if command is not None and list(command) in (line, line[1:]) else None


def _started(pid: int) -> str:
    """When process ``pid`` started, as a token that differs for any other process with that pid."""
    with contextlib.suppress(OSError, IndexError):
        ticks = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]  # field 22: starttime
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}:{ticks}"
    result = subprocess.run(["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, check=False)
    return "-".join(result.stdout.split())


def _command_line(pid: int) -> list[str]:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").rstrip("\0").split("\0")
    return []


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            return False
    return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def start(cmd: Sequence[str], *, pid_file: Path, log_file: Path, env: Mapping[str, str], cwd: Path) -> int:
    """Start ``cmd`` detached (own session, output to ``log_file``) and record its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        try:
            process = subprocess.Popen(
                list(cmd),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env),
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as exc:
            msg = f"cannot start {cmd[0]}: {exc}"
            raise StackError(msg) from exc
    pid_file.write_text(f"{process.pid} {_started(process.pid)}")
    return process.pid


def stop(pid_files: Sequence[Path], *, timeout: float = 30.0, commands: Sequence[Sequence[str]] = ()) -> list[Path]:
    """Stop the processes recorded in ``pid_files`` together: TERM to all, then KILL after ``timeout``.

    Together, because the nodes of a KRaft quorum stopped one after another leave the last one
    waiting for a quorum that is gone. Only a process that is the one each file recorded is
    signalled (see :func:`read_pid`; ``commands``, one per file, vouch for pid files of an earlier
    version). Returns the pid files whose processes were running.
    """
    running: dict[Path, int] = {}
    for n, pid_file in enumerate(pid_files):
        pid = read_pid(pid_file, commands[n] if n < len(commands) else None)
        pid_file.unlink(missing_ok=True)
        if pid is not None:
            running[pid_file] = pid
    for pid in running.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in running.values()) and time.monotonic() < deadline:
        for pid in running.values():
            _reap(pid)
        time.sleep(0.1)
    for pid in running.values():
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        while alive(pid):
            _reap(pid)
            time.sleep(0.1)
    return list(running)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file (empty when there is none)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
