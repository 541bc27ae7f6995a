"""Time find_help() in-process (no HTTP) on the benchmark datasets.

    python -m bench.inprocess --sizes 10k,100k,1m [--queries 500]

Each size runs in its own process against the same datasets as the HTTP benchmark (SQLite files under
bench/data, or the database in DATABASE_URL, seeded one size at a time). Queries are random real
postcode centroids with a random topic (or none), the same for every size; the search cache is
cleared first, and each query is timed cold (its area seen for the first time) and again warm.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

from bench.datasets import BASE_DIR, may_truncate, parse_size, postgres_name, prepare_postgres, prepare_sqlite

SEED = 1
COUNTRIES = ("CA", "US", "GB", "AU", "IE", "NZ", "DE", "FR")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def measure(queries: int) -> dict[str, object]:
    """Run inside a configured Django process: time ``queries`` searches, cold then warm."""
    import django

    django.setup()
    from django.core.cache import cache

    from directory.models import PostcodeArea, Service, Topic
    from directory.search import HelpQuery, find_help

    rng = random.Random(SEED)
    areas = list(
        PostcodeArea.objects.filter(country__in=COUNTRIES)
        .order_by("country", "code")
        .values_list("country", "latitude", "longitude", "subdivision")
    )
    topics = ["", *Topic.objects.order_by("slug").values_list("slug", flat=True)]
    asked = [
        HelpQuery(country=country, latitude=lat, longitude=lon, subdivision=subdivision, topic=rng.choice(topics))
        for country, lat, lon, subdivision in (rng.choice(areas) for _ in range(queries))
    ]
    cache.clear()
    timings: dict[str, list[float]] = {"cold": [], "warm": []}
    for label in ("cold", "warm"):
        for query in asked:
            started = time.perf_counter()
            find_help(query)
            timings[label].append((time.perf_counter() - started) * 1000)
    return {
        "services": Service.objects.count(),
        **{
            f"{label}_{name}": round(value, 1)
            for label, values in timings.items()
            for name, value in (
                ("p50", statistics.median(values)),
                ("p99", _percentile(values, 0.99)),
                ("mean", statistics.fmean(values)),
            )
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k,1m")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.queries)))
        return 0

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-" + "x" * 60,
        "TWILIO_AUTH_TOKEN": os.environ.get("TWILIO_AUTH_TOKEN") or "bench-token",
        "SMS_HASH_KEY": os.environ.get("SMS_HASH_KEY") or "bench-hash-key",
    }
    database_url = env.get("DATABASE_URL", "")
    if database_url and not may_truncate(database_url):
        parser.error(f"refusing to seed {postgres_name(database_url)!r}: its name needs 'bench' or 'test'")
    backend = "postgresql" if database_url else "sqlite"
    print(f"find_help() in-process, {args.queries} random postcode queries, {backend}")
    print("| listings | cold p50 ms | cold p99 ms | warm p50 ms | warm p99 ms |")
    print("|---:|---:|---:|---:|---:|")
    for text in args.sizes.split(","):
        size = parse_size(text.strip())
        prepare = prepare_postgres if database_url else prepare_sqlite
        size_env = prepare(size, SEED, env, report=lambda line: print(line, file=sys.stderr))
        completed = subprocess.run(
            [sys.executable, "-m", "bench.inprocess", "--measure", "--queries", str(args.queries)],
            cwd=BASE_DIR,
            env=size_env,
            check=True,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        row = json.loads(completed.stdout.strip().splitlines()[-1])
        print(
            f"| {row['services']:,} | {row['cold_p50']} | {row['cold_p99']} | {row['warm_p50']} | {row['warm_p99']} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
