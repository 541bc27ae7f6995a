"""The load with writes and faults (``bench/faults.py``), short: nothing acknowledged is lost, no 5xx outside an outage.

The SQLite run of the suite loads SQLite (its single writer under concurrent edits); the PostgreSQL run
loads a PostgreSQL and a Redis of the script's own, kills PostgreSQL and stops Redis mid-run. The long
variant (60 s, 64 connections) is ``python -m bench.faults --database sqlite|postgres``.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def run_faults(*args: str, timeout: float) -> str:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "DATABASE_", "REDIS_"))}
    finished = subprocess.run(  # noqa: S603 - the project's own script
        [sys.executable, "-m", "bench.faults", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output
    return output


def acknowledged_and_found(output: str) -> tuple[int, int]:
    match = re.search(r"Writes acknowledged: (\d+); found in the database with their history: (\d+)", output)
    assert match, output
    return int(match[1]), int(match[2])


def test_a_short_load_with_faults_loses_nothing_and_answers_throughout() -> None:
    if connection.vendor == "postgresql":
        output = run_faults("--database", "postgres", "--duration", "20", "--connections", "24", timeout=300)
        assert "PostgreSQL accepting connections" in output
        assert "Recovery: first write answered" in output
        # Texts are answered through the outage (a reply with what to send and the national line).
        assert re.search(r"\| postgres outage \| sms \| (\d+) \| \1 \| 0 \| 0 \| 0 \|", output), output
        assert re.search(r"\| redis stopped \| (nearest|sms) \| (\d+) \| \2 \| 0 \| 0 \| 0 \|", output), output
    else:
        output = run_faults("--database", "sqlite", "--duration", "10", "--connections", "24", timeout=240)
        assert '"database is locked" 0 times' in output
    acknowledged, found = acknowledged_and_found(output)
    assert acknowledged > 0
    assert found == acknowledged
