"""How soon a committed change reaches every node: two servers, one database, their read models.

``python -m bench.freshness [--size 10k] [--changes 20]`` serves one benchmark database from two
gunicorn servers (two app nodes), then repeatedly archives the first listing of a /nearest/ answer with
a committed UPDATE made outside both, and asks each node the same question until the listing is gone,
then restores it and waits for it to come back. It prints, per node, how long the change took to show
(from the commit to the first answer that had it) and whether the very next answer already had it.
Only 127.0.0.1; every wait is bounded.
"""

import argparse
import http.client
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from bench.__main__ import APPS, server_env
from bench.datasets import BASE_DIR, parse_size, prepare_sqlite
from bench.server import HOST, running

QUERY = "/api/v1/nearest/?postcode=SW1A1AA&country=GB"
DEADLINE_SECONDS = 10.0


def ask(port: int) -> list[int]:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", QUERY)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"GET {QUERY} answered {response.status}")
    return [result["id"] for result in json.loads(body)["results"]]


def wait_for(port: int, shown: bool, service_id: int, committed: float) -> tuple[float, bool]:
    """Seconds from the commit until ``port`` answers with (or without) the listing; was the first answer right."""
    first = True
    while time.monotonic() - committed < DEADLINE_SECONDS:
        if (service_id in ask(port)) == shown:
            return time.monotonic() - committed, first
        first = False
    raise RuntimeError(f"the node on port {port} still answered stale after {DEADLINE_SECONDS:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.freshness", description=__doc__)
    parser.add_argument("--size", default="10k")
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args(argv)
    size = parse_size(args.size)
    env = server_env("")
    source = Path(prepare_sqlite(size, 1, env, report=print)["SQLITE_PATH"])
    delays: dict[str, list[float]] = {"node A": [], "node B": []}
    next_answer: dict[str, int] = {"node A": 0, "node B": 0}
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-freshness-")))
        database = scratch / "shared.sqlite3"
        shutil.copyfile(source, database)
        node_env = {**env, "SQLITE_PATH": str(database)}
        wsgi, ready = APPS["project"]
        nodes = {
            name: stack.enter_context(
                running(wsgi, env=node_env, cwd=BASE_DIR, log=scratch / f"{name}.log", ready_path=ready)
            )
            for name in delays
        }
        writer = sqlite3.connect(database, timeout=30)
        for change in range(args.changes):
            archive = change % 2 == 0
            if archive:
                service_id = ask(nodes["node A"].port)[0]
            stamp = "datetime('now')" if archive else "NULL"
            with writer:
                writer.execute(f"UPDATE directory_service SET archived_at = {stamp} WHERE id = ?", [service_id])  # noqa: S608
            committed = time.monotonic()
            for name, server in nodes.items():
                delay, first = wait_for(server.port, not archive, service_id, committed)
                delays[name].append(delay)
                next_answer[name] += first
        writer.close()
    for name, measured in delays.items():
        print(
            f"{name}: {len(measured)} changes, the first answer after the commit had it "
            f"{next_answer[name]}/{len(measured)} times; "
            f"delay median {statistics.median(measured) * 1000:.1f} ms, max {max(measured) * 1000:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
