"""A Spark standalone cluster on 127.0.0.1 from pyspark's own jars: one master and N workers, each its own JVM.

For the test and the benchmark that run the job the way the README tells users to on a cluster:
``spark-submit --master spark://...`` with the packaged archive and the connector jars.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyspark

SPARK_HOME = Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class SparkCluster:
    master_url: str
    ui_url: str
    work_dir: Path

    def state(self) -> dict:
        with urllib.request.urlopen(f"{self.ui_url}/json/", timeout=5) as response:  # noqa: S310 - loopback
            return json.loads(response.read())

    def executor_dirs(self) -> list[Path]:
        """The folders the workers made for executors (``<work>/<worker>/<app>/<executor>``)."""
        return sorted(p for p in self.work_dir.glob("*/app-*/*") if p.is_dir())


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([str(SPARK_HOME / "bin" / "spark-class"), *args], stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)  # fmt: skip


@contextmanager
def spark_cluster(work: Path, workers: int = 2, cores: int = 1, memory: str = "1g") -> Iterator[SparkCluster]:
    """Start a master and ``workers`` workers bound to 127.0.0.1; stop them all at the end."""
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}
    port, ui = free_port(), free_port()
    cluster = SparkCluster(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui}", work)
    work.mkdir(parents=True, exist_ok=True)
    master = "org.apache.spark.deploy.master.Master"
    processes = [_start([master, "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui)],
                        work / "master.log", env)]  # fmt: skip
    try:
        _wait(lambda: _answers(cluster), 90, f"the Spark master ({work / 'master.log'})")
        for n in range(workers):
            folder = work / f"worker-{n}"
            folder.mkdir(exist_ok=True)
            processes.append(_start(["org.apache.spark.deploy.worker.Worker", cluster.master_url, "--host", "127.0.0.1",
                                     "--cores", str(cores), "--memory", memory, "--webui-port", str(free_port()),
                                     "--work-dir", str(folder)], work / f"worker-{n}.log", env))  # fmt: skip
        _wait(lambda: sum(w["state"] == "ALIVE" for w in cluster.state()["workers"]) == workers, 90,
              f"{workers} Spark workers ({work})")  # fmt: skip
        yield cluster
    finally:
        for process in processes:
            with_group = os.getpgid(process.pid) if process.poll() is None else None
            if with_group is not None:
                os.killpg(with_group, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def _answers(cluster: SparkCluster) -> bool:
    try:
        cluster.state()
    except OSError:
        return False
    return True


def _wait(check: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.5)
    msg = f"{what} not ready within {seconds:.0f}s"
    raise TimeoutError(msg)
