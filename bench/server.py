"""Start and stop gunicorn on 127.0.0.1, and read its workers' memory from /proc.

The benchmark, ``bench.freshness`` and the two-node test (``tests/test_two_nodes.py``) all start their
servers here.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
WORKERS = 2
# A million listings' read model is built before the workers start (gunicorn --preload).
READY_TIMEOUT_SECONDS = 300.0
STOP_TIMEOUT_SECONDS = 10.0
IDLE_TIMEOUT_SECONDS = 120.0
# Workers are idle once their CPU time stays flat this long (an idle sync worker uses next to none).
QUIET_SECONDS = 0.5


@dataclass(frozen=True)
class Server:
    app: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def gunicorn_command(app: str, port: int) -> list[str]:
    """gunicorn for ``app``; the app is loaded in the master (``--preload``) and shared by the forked workers."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "sync",
        "--bind",
        f"{HOST}:{port}",
        "--timeout",
        "30",
        "--graceful-timeout",
        "5",
        "--preload",
        app,
    ]


@contextmanager
def running(app: str, *, env: Mapping[str, str], cwd: Path, log: Path, ready_path: str) -> Iterator[Server]:
    """Run gunicorn for ``app`` in its own process group until the block ends, whatever happens in it."""
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            gunicorn_command(app, port),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(app=app, port=port, process=process, log=log)
    try:
        wait_until_ready(server, ready_path)
        yield server
    finally:
        stop(server)


def wait_until_ready(server: Server, path: str, timeout: float = READY_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn ({server.app}) exited with {server.process.returncode}; see {server.log}")
        if len(worker_pids(server)) == WORKERS and status_of(server, path) == 200:
            return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn ({server.app}) did not answer 200 on {path} within {timeout:.0f} s; see {server.log}")


def status_of(server: Server, path: str) -> int | None:
    connection = http.client.HTTPConnection(HOST, server.port, timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def stop(server: Server) -> None:
    """Stop the whole process group: TERM, then KILL whatever is left after a grace period."""
    try:
        group = os.getpgid(server.process.pid)
    except ProcessLookupError:
        server.process.wait()
        return
    _signal_group(group, signal.SIGTERM)
    try:
        server.process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        _signal_group(group, signal.SIGKILL)
        server.process.wait(timeout=STOP_TIMEOUT_SECONDS)
    # Workers orphaned by a dying master are still in the group.
    _signal_group(group, signal.SIGKILL)


def _signal_group(group: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(group, signum)


def worker_pids(server: Server) -> list[int]:
    master = server.process.pid
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return []
    return [int(pid) for pid in children]


def cpu_ticks(pid: int) -> int:
    """Return a process's user + system CPU time in clock ticks (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    # Fields after the command name, which is in parentheses and may contain spaces.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_until_idle(servers: Iterable[Server], timeout: float = IDLE_TIMEOUT_SECONDS) -> bool:
    """Wait until no worker burns CPU, i.e. requests a finished run left queued are done; False on timeout.

    When wrk stops, requests it sent are still queued in the listen backlog and the workers serve
    them anyway; starting the next run before they are done would charge it for them.
    """
    pids = [pid for server in servers for pid in worker_pids(server)]
    before = {pid: cpu_ticks(pid) for pid in pids}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(QUIET_SECONDS)
        after = {pid: cpu_ticks(pid) for pid in pids}
        if all(after[pid] - before[pid] <= 1 for pid in pids):
            return True
        before = after
    return False


def rss_mb(pid: int) -> float:
    """Return a process's resident set size in MB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def max_worker_rss_mb(server: Server) -> float:
    return max((rss_mb(pid) for pid in worker_pids(server)), default=0.0)
