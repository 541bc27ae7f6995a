"""Benchmark databases: one SQLite file per size under bench/data/, reused while still valid.

A file is reused when its marker records the same generator version, size and seed, and none of the
migrations or postcode tables it was built from has changed since; new migrations and changed seed
listings are applied to it in place. With
``DATABASE_URL`` set the listings go into that PostgreSQL database instead, rebuilt for every size.
"""

import hashlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from bench.generator import GENERATOR_VERSION

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / "bench" / "data"
FINGERPRINTED = ("directory/migrations/*.py", "sms/migrations/*.py", "fixtures/**/*.csv", "fixtures/**/*.json")
LOAD_TIMEOUT_SECONDS = 3 * 3600
REFRESH_TIMEOUT_SECONDS = 600

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([km]?)$")


@dataclass(frozen=True)
class Size:
    label: str
    services: int


def parse_size(text: str) -> Size:
    """Read ``10k``, ``100k``, ``1m`` or a plain count such as ``200``."""
    match = _SIZE.match(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a size such as 10k, 100k, 1m or 200")
    number, unit = match.groups()
    services = round(float(number) * {"": 1, "k": 1_000, "m": 1_000_000}[unit])
    if services < 1:
        raise ValueError(f"{text!r} must be at least one service")
    return Size(label=f"{number}{unit}", services=services)


def fingerprint(base_dir: Path = BASE_DIR) -> dict[str, str]:
    """Hash every migration and fixture file a database is built from."""
    digests = {}
    for pattern in FINGERPRINTED:
        for path in sorted(base_dir.glob(pattern)):
            digests[str(path.relative_to(base_dir))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def reuse_decision(marker: Mapping[str, object] | None, size: Size, seed: int, current: Mapping[str, str]) -> str:
    """Return "reuse", "refresh" (apply new migrations, reload the project's seed data) or "rebuild".

    The synthetic rows depend on the schema and the postcode tables, so an edited migration or any
    postcode change rebuilds; new migrations and changed seed listings or topics only refresh.
    """
    if (
        marker is None
        or marker.get("generator_version") != GENERATOR_VERSION
        or marker.get("services") != size.services
        or marker.get("seed") != seed
    ):
        return "rebuild"
    recorded = marker.get("fingerprint")
    if not isinstance(recorded, dict):
        return "rebuild"
    changed = {path for path in recorded.keys() | current.keys() if recorded.get(path) != current.get(path)}
    if any(path.startswith("fixtures/postcodes/") for path in changed):
        return "rebuild"
    if any("/migrations/" in path and path in recorded for path in changed):
        return "rebuild"
    return "refresh" if changed else "reuse"


def sqlite_path(size: Size) -> Path:
    return DATA_DIR / f"bench-{size.label}.sqlite3"


def _marker_path(database: Path) -> Path:
    return database.with_suffix(".json")


def _read_marker(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _loader(args: list[str], env: Mapping[str, str], timeout: int) -> None:
    # A bulk load (COPY, index builds, VACUUM ANALYZE of millions of rows) is no request: no statement_timeout.
    env = {**env, "DATABASE_STATEMENT_TIMEOUT_MS": "0"}
    subprocess.run([sys.executable, "-m", "bench.loader", *args], cwd=BASE_DIR, env=env, check=True, timeout=timeout)


def prepare_sqlite(size: Size, seed: int, env: Mapping[str, str], report: Callable[[str], None]) -> dict[str, str]:
    """Make sure the size's SQLite file is ready; return the environment that points the app at it."""
    database = sqlite_path(size)
    database_env = {**env, "SQLITE_PATH": str(database)}
    current = fingerprint()
    decision = (
        reuse_decision(_read_marker(_marker_path(database)), size, seed, current) if database.exists() else "rebuild"
    )
    if decision == "reuse":
        report(f"reusing {database.relative_to(BASE_DIR)}")
        return database_env
    if decision == "refresh":
        report(f"reusing {database.relative_to(BASE_DIR)} after applying new migrations and seed data")
        _loader(["--refresh"], database_env, REFRESH_TIMEOUT_SECONDS)
        _write_marker(database, size, seed, current)
        return database_env
    report(f"building {database.relative_to(BASE_DIR)} ({size.services:,} services)")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    partial = database.with_name(database.name + ".partial")
    _remove_sqlite(partial)
    _remove_sqlite(database)
    _marker_path(database).unlink(missing_ok=True)
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    _loader(
        ["--services", str(size.services), "--seed", str(seed), "--anchor", anchor.isoformat()],
        {**env, "SQLITE_PATH": str(partial)},
        LOAD_TIMEOUT_SECONDS,
    )
    partial.rename(database)
    _remove_sqlite(partial)
    _write_marker(database, size, seed, current, anchor=anchor)
    return database_env


def read_into_page_cache(database: Path, report: Callable[[str], None]) -> None:
    """Read the database file (and its WAL) once, so the first runs do not measure the disk.

    A server that has been answering for a while has its database in the page cache; a file
    built or last read long ago may have been evicted from it.
    """
    started = time.monotonic()
    total = 0
    for path in (database, database.with_name(database.name + "-wal")):
        if path.exists():
            with path.open("rb", buffering=0) as handle:
                while chunk := handle.read(8 * 1024 * 1024):
                    total += len(chunk)
    report(f"  read {total / 1e6:,.0f} MB into the page cache ({time.monotonic() - started:.1f} s)")


def _write_marker(
    database: Path, size: Size, seed: int, current: Mapping[str, str], anchor: datetime | None = None
) -> None:
    marker = _marker_path(database)
    previous = _read_marker(marker) or {}
    data = {
        "generator_version": GENERATOR_VERSION,
        "services": size.services,
        "seed": seed,
        "anchor": anchor.isoformat() if anchor else previous.get("anchor"),
        "fingerprint": dict(current),
    }
    marker.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def postgres_name(database_url: str) -> str:
    return urlparse(database_url).path.lstrip("/")


def may_truncate(database_url: str) -> bool:
    """Only empty databases whose name says they are disposable, unless the user confirmed it."""
    name = postgres_name(database_url).lower()
    return "bench" in name or "test" in name


def prepare_postgres(size: Size, seed: int, env: Mapping[str, str], report: Callable[[str], None]) -> dict[str, str]:
    """Empty the project's tables in ``DATABASE_URL`` and seed this size into it."""
    report(f"seeding {size.services:,} services into PostgreSQL database {postgres_name(env['DATABASE_URL'])!r}")
    anchor = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    _loader(
        ["--truncate", "--services", str(size.services), "--seed", str(seed), "--anchor", anchor.isoformat()],
        env,
        LOAD_TIMEOUT_SECONDS,
    )
    return dict(env)
