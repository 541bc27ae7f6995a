"""Private PostgreSQL and Redis servers on free loopback ports, for runs that stop and restart them.

The machine's own servers are shared with everything else on it; a fault run restarts these instead.
Both keep their files in a folder the caller owns and stop when the ``with`` block ends, whatever happens.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import redis

HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _wait(ready: Callable[[], bool], what: str, timeout: float = START_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {timeout:.0f} s")


class RedisServer:
    """``redis-server`` keeping nothing on disk, like the machine's."""

    def __init__(self, folder: Path) -> None:
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.exceptions.ConnectionError:
                return False

        _wait(answers, "redis-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


class PostgresServer:
    """A PostgreSQL cluster of its own (``initdb``), trust auth on loopback, database ``bench``.

    Its files are in a new folder under the system's temporary directory (the postgres account must be able
    to reach it), removed when the server is done with.
    """

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="helpdir-postgres-"))
        self.data = self.folder / "data"

    @property
    def url(self) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/bench"

    def _as_owner(self, *command: str) -> list[str]:
        # PostgreSQL refuses to run as root: its files and processes belong to the postgres account.
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def create(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        subprocess.run(
            self._as_owner(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.start()
        subprocess.run(
            [str(self.bin / "createdb"), "-h", HOST, "-p", str(self.port), "-U", "postgres", "bench"], check=True
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses={HOST} -k {self.folder}"
        pg_ctl, log = str(self.bin / "pg_ctl"), str(self.folder / "log")
        subprocess.run(
            self._as_owner(pg_ctl, "-D", str(self.data), "-o", options, "-l", log, "-w", "start"),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def _postgres_bin() -> Path:
    # Debian keeps the server's programs per version; elsewhere they are on the PATH.
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    found = str(versions[-1]) if versions else shutil.which("pg_ctl")
    if not found:
        raise RuntimeError("PostgreSQL's server programs are not installed (apt-get install postgresql)")
    return Path(found).parent


@contextmanager
def private_redis(folder: Path) -> Iterator[RedisServer]:
    server = RedisServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def private_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.create()
        yield server
    finally:
        with suppress(Exception):
            server.stop("immediate")
        shutil.rmtree(server.folder, ignore_errors=True)
