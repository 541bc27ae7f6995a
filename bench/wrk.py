"""Drive a server with wrk and read back what the Lua script reports."""

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.server import HOST

SCRIPT = Path(__file__).resolve().parent / "requests.lua"
SETUP_SCRIPT = Path(__file__).resolve().parent / "setup.sh"
RESULT_PREFIX = "BENCH_RESULT "
# wrk's own request timeout; a request slower than this counts as a socket error.
REQUEST_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    wraps: int
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def ensure_wrk() -> str:
    """Return wrk's path, installing it with bench/setup.sh (apt-get) when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["sh", str(SETUP_SCRIPT)], check=True, timeout=600)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is still missing after bench/setup.sh; install it with: apt-get install -y wrk")
    return found


def wrk_command(wrk: str, port: int, pool: Path, *, seconds: int, connections: int) -> list[str]:
    threads = min(2, connections)
    return [
        wrk,
        "--threads",
        str(threads),
        "--connections",
        str(connections),
        "--duration",
        f"{seconds}s",
        "--timeout",
        f"{REQUEST_TIMEOUT_SECONDS}s",
        "--script",
        str(SCRIPT),
        f"http://{HOST}:{port}",
        "--",
        str(pool),
        str(threads),
    ]


def run_wrk(wrk: str, port: int, pool: Path, *, seconds: int, connections: int) -> WrkResult:
    command = wrk_command(wrk, port, pool, seconds=seconds, connections=connections)
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()[:500]}")
    return parse_result(completed.stdout)


def parse_result(output: str) -> WrkResult:
    for line in output.splitlines():
        if line.startswith(RESULT_PREFIX):
            data = json.loads(line.removeprefix(RESULT_PREFIX))
            return WrkResult(
                requests=int(data["requests"]),
                seconds=int(data["duration_us"]) / 1e6,
                p50_ms=int(data["p50_us"]) / 1000,
                p99_ms=int(data["p99_us"]) / 1000,
                non_2xx=int(data["non_2xx"]),
                socket_errors=int(data["socket_errors"]),
                wraps=int(data["wraps"]),
                statuses={str(status): int(count) for status, count in data["statuses"].items()},
            )
    raise RuntimeError(f"wrk printed no {RESULT_PREFIX.strip()} line:\n{output[-2000:]}")
