"""Run the benchmark: ``python -m bench`` (``--quick`` for a short run). See bench/README.md."""

import argparse
import math
import os
import platform
import random
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from bench.datasets import (
    BASE_DIR,
    Size,
    may_truncate,
    parse_size,
    postgres_name,
    prepare_postgres,
    prepare_sqlite,
    read_into_page_cache,
)
from bench.generator import Atlas, build_atlas, read_centroids
from bench.report import Cell, check_targets, markdown_checks, markdown_table, summarize, write_results
from bench.server import IDLE_TIMEOUT_SECONDS, WORKERS, max_worker_rss_mb, running, wait_until_idle
from bench.workloads import (
    HEALTHZ,
    HELLO,
    NEAREST,
    PEER_NEAREST,
    PEER_SERVICES,
    PEER_SMS,
    PEER_SMS_PATH,
    SERVICES,
    SMS,
    SMS_PATH,
    WORKLOADS,
    Workload,
    nearest_lines,
    services_lines,
    sms_keywords,
    sms_lines,
    write_lines,
)
from bench.wrk import WrkResult, ensure_wrk, run_wrk

POSTCODES_DIR = BASE_DIR / "fixtures" / "postcodes"
TOPICS_FILE = BASE_DIR / "fixtures" / "topics.json"
RESULTS_DIR = BASE_DIR / "bench" / "results"

DEFAULT_SIZES = "10k,100k,1m"
QUICK_SIZES = "10k,100k"
DEFAULT_SECONDS = 10
QUICK_SECONDS = 5
WARMUP_SECONDS = 2
DEFAULT_RUNS = 3
DEFAULT_CONNECTIONS = 8
SEED = 1
# A 1-minute load average above this at the start means something else competes for the CPUs.
BUSY_LOAD = 1.0
GET_REQUESTS_PER_FILE = 60_000
# An SMS request file holds this many times what the bare WSGI app managed, so no MessageSid repeats.
SMS_HEADROOM = 1.5
SMS_REQUESTS_MIN = 5_000
SMS_REQUESTS_MAX = 500_000

# Each app gunicorn serves, with the path that must answer 200 before a run starts.
# The peer is served by a server of its own with the same settings (less the read model it does not use),
# so each server's worker RSS is what its own workloads made it.
APPS = {
    "hello": ("bench.hello_wsgi:application", "/"),
    "project": ("config.wsgi:application", "/healthz/"),
    "peer": ("config.wsgi:application", "/healthz/"),
}
AUTH_TOKEN = "bench-twilio-auth-token"  # noqa: S105 - a throwaway token for the local server
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "REDIS_URL")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        epilog="workloads: " + "; ".join(f"{w.name}: {w.request}" for w in WORKLOADS.values()),
    )
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}, {QUICK_SECONDS} s per run")
    parser.add_argument("--sizes", help=f"comma-separated, e.g. 10k,100k,1m or 200 (default {DEFAULT_SIZES})")
    parser.add_argument("--duration", type=int, help=f"seconds per run (default {DEFAULT_SECONDS})")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="measured runs per cell; the median is shown")
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS, help="open connections held by wrk")
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated subset of {', '.join(WORKLOADS)} (hello is always measured: ratios need it)",
    )
    parser.add_argument(
        "--truncate-database",
        action="store_true",
        help="allow emptying a DATABASE_URL database whose name contains neither 'bench' nor 'test'",
    )
    args = parser.parse_args(argv)
    try:
        args.sizes = [
            parse_size(text) for text in (args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)).split(",")
        ]
    except ValueError as error:
        parser.error(str(error))
    args.duration = args.duration or (QUICK_SECONDS if args.quick else DEFAULT_SECONDS)
    names = [name.strip() for name in args.workloads.split(",") if name.strip()]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads: {', '.join(unknown)}")
    args.workloads = [HELLO, *(WORKLOADS[name] for name in WORKLOADS if name in names and name != HELLO.name)]
    for option in ("duration", "runs", "connections"):
        if getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    return args


def server_env(database_url: str) -> dict[str, str]:
    """Production settings with throwaway secrets, throttles out of the way, nothing else from the shell."""
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.update(
        # The project's settings with the peer's URLs mounted too (bench/settings.py).
        DJANGO_SETTINGS_MODULE="bench.settings",
        # Build the read model once in the gunicorn master; the workers share it.
        READ_MODEL_PRELOAD="1",
        PYTHONPATH=str(BASE_DIR),
        DEBUG="0",
        SECRET_KEY="bench-only-" + secrets.token_hex(24),
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        SMS_HASH_KEY="bench-only-" + secrets.token_hex(16),
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1",
        API_ANON_RATE="1000000000/minute",
        SMS_RATE_LIMIT="1000000000",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


class RequestFiles:
    """Fresh request files for every run: new draws each time (new MessageSids for SMS), so no run replays another."""

    def __init__(self, directory: Path, rng: random.Random, atlas: Atlas, keywords: Sequence[str]) -> None:
        self.directory = directory
        self.rng = rng
        self.atlas = atlas
        self.keywords = keywords
        self.last: dict[str, Path] = {}
        # The bare WSGI app's best rate bounds what any run can send.
        self.best_reference = 0.0

    def note(self, workload: Workload, result: WrkResult) -> None:
        if workload is HELLO:
            self.best_reference = max(self.best_reference, result.requests_per_second)

    def for_run(self, workload: Workload, port: int, seconds: int) -> Path:
        previous = self.last.pop(workload.name, None)
        if previous is not None:
            previous.unlink()
        wanted = min(SMS_REQUESTS_MAX, max(SMS_REQUESTS_MIN, math.ceil(self.best_reference * seconds * SMS_HEADROOM)))
        if workload in (SMS, PEER_SMS):
            lines = sms_lines(
                self.rng,
                self.atlas,
                wanted,
                port=port,
                auth_token=AUTH_TOKEN,
                keywords=self.keywords,
                sid_prefix=secrets.randbits(32),
                path=SMS_PATH if workload is SMS else PEER_SMS_PATH,
            )
        elif workload in (NEAREST, PEER_NEAREST):
            path = "/api/v1/nearest/" if workload is NEAREST else "/peer/nearest/"
            lines = nearest_lines(self.rng, self.atlas, min(wanted, GET_REQUESTS_PER_FILE), path)
        elif workload in (SERVICES, PEER_SERVICES):
            path = "/api/v1/services/" if workload is SERVICES else "/peer/services/"
            lines = services_lines(self.rng, self.atlas, min(wanted, GET_REQUESTS_PER_FILE), path)
        else:
            lines = ["GET\t/healthz/\t\t" if workload is HEALTHZ else "GET\t/\t\t"]
        self.last[workload.name] = write_lines(self._path(workload), lines)
        return self.last[workload.name]

    def _path(self, workload: Workload) -> Path:
        return self.directory / f"{workload.name}-{secrets.token_hex(4)}.txt"


def cache_lookups(env: Mapping[str, str]) -> tuple[int, int] | None:
    """(hits, misses) of the Redis cache so far, or None without Redis (a local-memory cache keeps no count)."""
    if not env.get("REDIS_URL"):
        return None
    import redis

    stats = redis.Redis.from_url(env["REDIS_URL"], socket_timeout=5).info("stats")
    return int(stats["keyspace_hits"]), int(stats["keyspace_misses"])


def read_model_lines(log: Path) -> list[str]:
    """What the server said about its read model (built in the master, patched in the workers)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [
        line.split(" INFO directory.readmodel ", 1)[1] for line in text.splitlines() if "directory.readmodel" in line
    ]


def app_env(app: str, env: Mapping[str, str]) -> dict[str, str]:
    """The server environment for ``app``: the peer's server builds no read model."""
    if app == "peer":
        return {name: value for name, value in env.items() if name != "READ_MODEL_PRELOAD"}
    return dict(env)


def bench_size(
    size: Size, env: Mapping[str, str], args: argparse.Namespace, atlas: Atlas, wrk: str, logs: Path
) -> tuple[list[Cell], dict[str, str]]:
    """Serve the size's database and the bare WSGI app side by side; run every workload, warm-up first.

    Returns the cells and notes: the read model's build line and each workload's cache hit rate."""
    results: dict[str, list[WrkResult]] = {workload.name: [] for workload in args.workloads}
    rss: dict[str, float] = {}
    lookups: dict[str, list[int]] = {}
    notes: dict[str, str] = {}
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-requests-")))
        files = RequestFiles(scratch, random.Random(f"{SEED}-{size.label}"), atlas, sms_keywords(TOPICS_FILE))
        used = {"hello", "project"} | {workload.app for workload in args.workloads}
        servers = {
            app: stack.enter_context(
                running(
                    wsgi,
                    env=app_env(app, env),
                    cwd=BASE_DIR,
                    log=logs / f"{size.label}-{app}.log",
                    ready_path=ready_path,
                )
            )
            for app, (wsgi, ready_path) in APPS.items()
            if app in used
        }
        for run in range(args.runs + 1):
            seconds = min(WARMUP_SECONDS, args.duration) if run == 0 else args.duration
            for workload in args.workloads:
                server = servers[workload.app]
                pool = files.for_run(workload, server.port, seconds)
                if not wait_until_idle(servers.values()):
                    print(f"  warning: the servers were still busy {IDLE_TIMEOUT_SECONDS:.0f} s after the last run")
                before = cache_lookups(env)
                result = run_wrk(wrk, server.port, pool, seconds=seconds, connections=args.connections)
                after = cache_lookups(env)
                if run > 0 and before is not None and after is not None:
                    counted = lookups.setdefault(workload.name, [0, 0])
                    counted[0] += after[0] - before[0]
                    counted[1] += after[1] - before[1]
                files.note(workload, result)
                label = "warm-up" if run == 0 else f"run {run}/{args.runs}"
                print(f"  {size.label} {label} {_line(workload, result)}", flush=True)
                if run > 0:
                    results[workload.name].append(result)
                    rss[workload.name] = max(rss.get(workload.name, 0.0), max_worker_rss_mb(server))
        notes["read model"] = "; ".join(read_model_lines(servers["project"].log)) or "not reported"
    for name, (hits, misses) in lookups.items():
        total = hits + misses
        rate = f"{hits / total:.1%} of {total:,} lookups" if total else "no lookups"
        notes[f"{name} cache hits"] = f"{rate} (Redis, every key read: throttles, SMS state, caches)"
    if not lookups:
        notes["cache hits"] = "not counted (local-memory cache); the read model answers without a cache"
    return summarize(size.label, size.services, results, rss), notes


def _line(workload: Workload, result: WrkResult) -> str:
    return (
        f"{workload.name:<9} {result.requests_per_second:>8,.0f} req/s  p50 {result.p50_ms:7.2f} ms  "
        f"p99 {result.p99_ms:7.2f} ms  errors {result.errors}"
    )


def git_commit() -> str:
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return "unknown"
    return completed.stdout.strip() or "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", "").strip()
    if database_url and not (may_truncate(database_url) or args.truncate_database):
        print(
            f"DATABASE_URL names {postgres_name(database_url)!r}: the benchmark empties the project's tables there. "
            "Use a database whose name contains 'bench' or 'test', or pass --truncate-database.",
            file=sys.stderr,
        )
        return 2
    if not sorted(POSTCODES_DIR.glob("*.csv")):
        print(f"No postcode tables in {POSTCODES_DIR}: the generator clusters listings around them.", file=sys.stderr)
        return 2
    load = os.getloadavg()[0]
    if load > BUSY_LOAD:
        print(f"The machine is busy (load average {load:.1f}): expect noisy numbers.", flush=True)
    wrk = ensure_wrk()
    atlas = build_atlas(read_centroids(POSTCODES_DIR))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    logs = RESULTS_DIR / "logs" / stamp
    env = server_env(database_url)
    context = {
        "date": stamp,
        "commit": git_commit(),
        "database": f"PostgreSQL ({postgres_name(database_url)})" if database_url else "SQLite (bench/data/)",
        "cache": "Redis" if env.get("REDIS_URL") else "local memory",
        "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}",
        "load average at start": f"{load:.2f}",
        "server": f"gunicorn, {WORKERS} sync workers, DEBUG=0",
        "load": f"wrk, {args.connections} connections, {args.runs} x {args.duration} s per cell after a warm-up",
        "RSS": "the larger of the workers' VmRSS, highest seen after any run of the workload",
    }
    sections: list[tuple[str, list[Cell]]] = []
    for size in args.sizes:
        print(f"== {size.label}: {size.services:,} services", flush=True)
        if database_url:
            size_env = prepare_postgres(size, SEED, env, report=print)
        else:
            size_env = prepare_sqlite(size, SEED, env, report=print)
            read_into_page_cache(Path(size_env["SQLITE_PATH"]), report=print)
        cells, notes = bench_size(size, size_env, args, atlas, wrk, logs)
        title = f"{size.label} ({size.services:,} services)"
        for note, text in notes.items():
            context[f"{size.label} {note}"] = text
            print(f"  {note}: {text}", flush=True)
        sections.append((title, cells))
        print(f"\n### {title}\n\n{markdown_table(cells)}\n", flush=True)
    checks = check_targets([cell for _, cells in sections for cell in cells])
    if checks:
        print(f"Targets:\n{markdown_checks(checks)}\n")
    markdown, as_json = write_results(RESULTS_DIR, stamp, context, sections)
    print(f"Written {markdown.relative_to(BASE_DIR)} and {as_json.relative_to(BASE_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
