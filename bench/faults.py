"""Load with writes and faults: reads, texts and maintainers' edits at once, while PostgreSQL and Redis fail.

``python -m bench.faults [--database sqlite|postgres] [--duration 60] [--connections 64]`` serves the seed
listings from gunicorn (production settings, as the benchmark runs it) and sends, over that many
connections held open for the whole run, a mix of ``/api/v1/nearest/`` and ``/api/v1/services/`` reads,
signed SMS webhooks (a new MessageSid each) and maintainers' PATCHes with ``If-Match`` (each maintainer
edits its own organisation's listings, the next edit on the ETag the last one returned).

With ``--database postgres`` the run starts a PostgreSQL and a Redis of its own on free loopback ports
(``bench/services.py``) and, at a fifth of the run, kills PostgreSQL (``pg_ctl stop -m immediate``:
what a crash leaves) and starts it again three seconds later; at 60% it stops Redis, and starts it
again at 80%. The machine's own servers are not touched. ``--database sqlite`` runs without faults
(the case to watch there is SQLite's single writer: "database is locked" must never happen).

Afterwards every acknowledged edit (a 202 with its proposal) is looked up in the database: the proposal
with the edit's own text, and its row in the history. The report counts requests, statuses and errors
per phase, the time from PostgreSQL's restart to the first request answered from it again, and exits
non-zero if anything acknowledged is missing, any 5xx or dropped connection happened outside the outage,
or the server logged "database is locked" or a traceback. Every wait is bounded; it stops by itself.
"""

import argparse
import http.client
import io
import json
import os
import random
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bench.__main__ import APPS, AUTH_TOKEN, POSTCODES_DIR, server_env
from bench.datasets import BASE_DIR
from bench.generator import TOPIC_SLUGS, Atlas, build_atlas, fictional_phone, read_centroids
from bench.server import HOST, running
from bench.services import PostgresServer, RedisServer, private_postgres, private_redis
from bench.workloads import ACCOUNT_SID, SMS_COUNTRIES, SMS_PATH, SMS_TO, sms_body

WRITERS = 8
PASSWORD = "faults-" + secrets.token_hex(12)
REQUEST_TIMEOUT_SECONDS = 30.0
POSTGRES_DOWN_SECONDS = 3.0
# Requests sent this long after PostgreSQL is back may still meet the outage (queued in the backlog).
RECOVERY_GRACE_SECONDS = 3.0
KINDS, WEIGHTS = ("nearest", "services", "sms"), (0.40, 0.30, 0.30)


@dataclass
class Outcome:
    kind: str
    started: float
    ended: float
    status: int  # 0: no HTTP answer (connection dropped or refused, timeout)
    error: str = ""


@dataclass
class Acknowledged:
    proposal: int
    service: int
    marker: str


@dataclass
class Timeline:
    start: float = 0.0
    events: list[tuple[float, str]] = field(default_factory=list)
    postgres_down: tuple[float, float] | None = None
    redis_down: tuple[float, float] | None = None

    def note(self, what: str) -> float:
        at = time.monotonic()
        self.events.append((at, what))
        return at


class Client:
    """One keep-alive connection to the server, reopened when the server drops it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT_SECONDS)
        try:
            self.connection.request(method, path, body=body, headers=headers or {})
            response = self.connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = None
            raise
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
            self.connection = None
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload


class Load:
    def __init__(self, port: int, atlas: Atlas, tokens: Sequence[tuple[str, list[int]]], seed: int) -> None:
        self.port = port
        self.atlas = atlas
        self.tokens = tokens
        self.seed = seed
        self.validator = RequestValidator(AUTH_TOKEN)
        self.outcomes: list[Outcome] = []
        self.acknowledged: list[Acknowledged] = []
        self.examples: dict[tuple[str, int], str] = {}
        self.lock = threading.Lock()
        self.stop_at = 0.0

    def _record(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def _send(
        self,
        client: Client,
        kind: str,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        started = time.monotonic()
        try:
            status, answer_headers, payload = client.request(method, path, body, headers)
        except (OSError, http.client.HTTPException) as error:
            self._record(Outcome(kind, started, time.monotonic(), 0, type(error).__name__))
            time.sleep(0.05)  # a refused connection returns at once: do not spin
            return 0, {}, b""
        self._record(Outcome(kind, started, time.monotonic(), status))
        if status >= 400:
            with self.lock:
                self.examples.setdefault((kind, status), f"{method} {path.split('?')[0]}: {payload[:200]!r}")
        return status, answer_headers, payload

    def reader(self, number: int) -> None:
        rng = random.Random(self.seed * 1000 + number)
        client = Client(self.port)
        sid_prefix = rng.getrandbits(32)
        index = 0
        while time.monotonic() < self.stop_at:
            kind = rng.choices(KINDS, WEIGHTS)[0]
            if kind == "nearest":
                place = self.atlas.pick(rng)
                query = urlencode({"postcode": place.postcode, "country": place.country})
                self._send(client, kind, "GET", f"/api/v1/nearest/?{query}")
            elif kind == "services":
                place = self.atlas.pick(rng)
                query = urlencode({"country": place.country, "topic": rng.choice(TOPIC_SLUGS)})
                self._send(client, kind, "GET", f"/api/v1/services/?{query}")
            else:
                index += 1
                body, headers = self._signed_text(rng, f"SM{sid_prefix:08x}{number:08x}{index:016x}")
                self._send(client, kind, "POST", SMS_PATH, body, headers)

    def _signed_text(self, rng: random.Random, sid: str) -> tuple[bytes, dict[str, str]]:
        country = rng.choice([c for c in SMS_COUNTRIES if c in self.atlas.centroids])
        place = self.atlas.pick_in(rng, country)
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": fictional_phone(rng, country)[0],
            "To": SMS_TO[country],
            "Body": sms_body(rng, "HELP", place.postcode),
            "NumMedia": "0",
            "FromCountry": country,
        }
        signature = self.validator.compute_signature(f"http://{HOST}:{self.port}{SMS_PATH}", params)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
        return urlencode(params).encode(), headers

    def writer(self, number: int) -> None:
        token, services = self.tokens[number]
        client = Client(self.port)
        auth = {"Authorization": f"Token {token}"}
        etags: dict[int, str] = {}
        edit = 0
        while time.monotonic() < self.stop_at:
            service = services[edit % len(services)]
            if service not in etags:
                status, headers, _ = self._send(
                    client, "write", "GET", f"/api/v1/services/{service}/?verified=any", None, auth
                )
                if status == 200:
                    etags[service] = headers["etag"]
                continue
            edit += 1
            marker = f"edit {number}-{edit}-{secrets.token_hex(4)}"
            body = json.dumps({"hours_note": marker}).encode()
            headers = {**auth, "Content-Type": "application/json", "If-Match": etags[service]}
            status, answer_headers, payload = self._send(
                client, "write", "PATCH", f"/api/v1/services/{service}/", body, headers
            )
            if status == 202:
                with self.lock:
                    self.acknowledged.append(Acknowledged(json.loads(payload)["id"], service, marker))
                etags[service] = answer_headers["etag"]
            elif status == 412:
                etags[service] = answer_headers.get("etag", "")
            elif status != 0:
                etags.pop(service, None)


def prepare(env: dict[str, str]) -> list[tuple[str, list[int]]]:
    """Migrate, load the seed, and make one maintainer for each of ``WRITERS`` organisations with listings."""
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from directory.accounts import ensure_user, make_maintainer
    from directory.models import Organization

    call_command("migrate", verbosity=0, stdout=io.StringIO())
    call_command("load_seed", verbosity=0, stdout=io.StringIO())
    writers = []
    organizations = Organization.objects.filter(services__archived_at__isnull=True).distinct().order_by("pk")
    for number, organization in enumerate(organizations[:WRITERS]):
        user, _ = ensure_user(f"faults-maintainer-{number}", f"m{number}@example.org", PASSWORD)
        make_maintainer(user, organization)
        services = list(organization.services.filter(archived_at__isnull=True).values_list("pk", flat=True))
        writers.append((user.username, services))
    return writers


def sign_in(port: int, writers: Sequence[tuple[str, list[int]]]) -> list[tuple[str, list[int]]]:
    signed_in = []
    for username, services in writers:
        connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_SECONDS)
        body = json.dumps({"username": username, "password": PASSWORD})
        connection.request("POST", "/api/v1/auth/token/", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        payload = json.loads(response.read())
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"sign-in of {username} answered {response.status}: {payload}")
        signed_in.append((payload["token"], services))
    return signed_in


def verify(acknowledged: Sequence[Acknowledged]) -> list[str]:
    """Every acknowledged edit is in its proposal and in the proposal's history; return what is not."""
    from django.db import connection

    from directory.models import Proposal

    connection.close()  # the script's own connection may predate a restart
    proposals = Proposal.objects.in_bulk([item.proposal for item in acknowledged])
    histories = set(Proposal.history.filter(id__in=list(proposals)).values_list("id", flat=True))
    missing = []
    for item in acknowledged:
        proposal = proposals.get(item.proposal)
        if proposal is None or proposal.service_id != item.service or proposal.data.get("hours_note") != item.marker:
            missing.append(f"proposal {item.proposal} ({item.marker}) not stored as acknowledged")
        elif item.proposal not in histories:
            missing.append(f"proposal {item.proposal} has no history row")
    return missing


def faults(timeline: Timeline, duration: float, postgres: PostgresServer, redis: RedisServer) -> None:
    start = timeline.start

    def at(fraction: float) -> None:
        time.sleep(max(0.0, start + duration * fraction - time.monotonic()))

    at(0.2)
    down = timeline.note("PostgreSQL killed (pg_ctl stop -m immediate)")
    postgres.stop("immediate")
    time.sleep(POSTGRES_DOWN_SECONDS)
    timeline.note("PostgreSQL starting")
    postgres.start()
    timeline.postgres_down = (down, timeline.note("PostgreSQL accepting connections"))
    at(0.6)
    down = timeline.note("Redis stopped")
    redis.stop()
    at(0.8)
    redis.start()
    timeline.redis_down = (down, timeline.note("Redis started"))


@dataclass
class Report:
    lines: list[str]
    failures: list[str]


def report(
    load: Load, timeline: Timeline, missing: Sequence[str], log_text: str, database: str, args: argparse.Namespace
) -> Report:
    lines = [
        f"# bench.faults: {database}, {args.duration:.0f} s, {args.connections} connections "
        f"({WRITERS} maintainers editing), seed {args.seed}",
        "",
    ]
    start = timeline.start
    for at, what in timeline.events:
        lines.append(f"- {at - start:6.1f} s  {what}")
    outage = None
    if timeline.postgres_down:
        outage = (timeline.postgres_down[0], timeline.postgres_down[1] + RECOVERY_GRACE_SECONDS)

    def phase(outcome: Outcome) -> str:
        if outage and outcome.ended >= outage[0] and outcome.started <= outage[1]:
            return "postgres outage"
        if (
            timeline.redis_down
            and outcome.ended >= timeline.redis_down[0]
            and outcome.started <= timeline.redis_down[1]
        ):
            return "redis stopped"
        return "normal"

    lines += [
        "",
        "| phase | kind | requests | 2xx | 4xx | 5xx | no answer | p50 ms | p99 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for outcome in load.outcomes:
        groups.setdefault((phase(outcome), outcome.kind), []).append(outcome)
    failures = []
    for (name, kind), outcomes in sorted(groups.items()):
        statuses = Counter(outcome.status // 100 for outcome in outcomes)
        latencies = sorted((o.ended - o.started) * 1000 for o in outcomes)
        p50 = latencies[len(latencies) // 2]
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        lines.append(
            f"| {name} | {kind} | {len(outcomes)} | {statuses[2]} | {statuses[4]} | {statuses[5]} | {statuses[0]} "
            f"| {p50:.1f} | {p99:.1f} |"
        )
        if name != "postgres outage" and (statuses[5] or statuses[0]):
            failures.append(f"{statuses[5]} 5xx and {statuses[0]} unanswered {kind} requests while {name}")
    codes = Counter((o.kind, o.status) for o in load.outcomes if o.status >= 400 or o.status == 0)
    if codes:
        lines += [
            "",
            "Statuses other than 2xx: "
            + ", ".join(f"{k} {s or 'no answer'}: {n}" for (k, s), n in sorted(codes.items())),
        ]
    for (kind, status), example in sorted(load.examples.items()):
        lines.append(f"- first {kind} {status}: {example}")
    if timeline.postgres_down:
        back = timeline.postgres_down[1]
        served = [
            o.ended for o in load.outcomes if o.kind == "write" and o.status < 500 and o.status and o.started >= back
        ]
        first_write = min(served, default=None)
        last_error = max((o.ended for o in load.outcomes if (o.status >= 500 or o.status == 0)), default=None)
        lines.append("")
        if first_write is None:
            failures.append("no write succeeded after PostgreSQL came back")
            lines.append("After PostgreSQL came back: no write succeeded.")
        else:
            lines.append(
                f"Recovery: first write answered {first_write - back:.2f} s after PostgreSQL accepted connections "
                f"({back - timeline.postgres_down[0]:.1f} s after it was killed); "
                + (
                    f"last 5xx or unanswered request {last_error - back:+.2f} s from then."
                    if last_error
                    else "no errors."
                )
            )
    lines += [
        "",
        f"Writes acknowledged: {len(load.acknowledged)}; found in the database with their history: "
        f"{len(load.acknowledged) - len(missing)}; missing: {len(missing)}.",
    ]
    failures += missing
    locked = log_text.count("database is locked")
    tracebacks = log_text.count("Traceback")
    lines.append(f'Server log: "database is locked" {locked} times, {tracebacks} tracebacks.')
    if locked:
        failures.append(f'"database is locked" logged {locked} times')
    if tracebacks and not timeline.postgres_down:
        failures.append(f"{tracebacks} tracebacks logged")
    if not load.acknowledged:
        failures.append("no write was acknowledged")
    return Report(lines, failures)


@contextmanager
def stores(database: str, folder: Path) -> Iterator[tuple[dict[str, str], PostgresServer | None, RedisServer | None]]:
    if database == "sqlite":
        yield {"SQLITE_PATH": str(folder / "faults.sqlite3"), "DATABASE_URL": "", "REDIS_URL": ""}, None, None
        return
    with private_postgres() as postgres, private_redis(folder / "redis") as redis:
        yield {"DATABASE_URL": postgres.url, "REDIS_URL": redis.url}, postgres, redis


def run(args: argparse.Namespace) -> Report:
    atlas = build_atlas(read_centroids(POSTCODES_DIR))
    with tempfile.TemporaryDirectory(prefix="helpdir-faults-") as scratch, ExitStack() as stack:
        folder = Path(scratch)
        store_env, postgres, redis = stack.enter_context(stores(args.database, folder))
        env = {**server_env(store_env.get("DATABASE_URL", "")), **store_env}
        env["READ_MODEL_PRELOAD"] = "1"
        env["DJANGO_SETTINGS_MODULE"] = "config.settings"
        writers = prepare(env)
        wsgi, ready_path = APPS["project"]
        log = folder / "gunicorn.log"
        server = stack.enter_context(running(wsgi, env=env, cwd=BASE_DIR, log=log, ready_path=ready_path))
        load = Load(server.port, atlas, sign_in(server.port, writers), args.seed)
        timeline = Timeline()
        timeline.start = timeline.note("load started")
        load.stop_at = timeline.start + args.duration
        threads = [threading.Thread(target=load.writer, args=(n,)) for n in range(len(load.tokens))]
        threads += [threading.Thread(target=load.reader, args=(n,)) for n in range(args.connections - len(threads))]
        if postgres and redis:
            threads.append(threading.Thread(target=faults, args=(timeline, args.duration, postgres, redis)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.duration + REQUEST_TIMEOUT_SECONDS + 60)
        timeline.note("load stopped")
        missing = verify(load.acknowledged)
        return report(load, timeline, missing, log.read_text(errors="replace"), args.database, args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--connections", type=int, default=64, help=f"connections held open (at least {WRITERS + 1})")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.connections <= WRITERS or args.duration < 8:
        parser.error(f"--connections must exceed {WRITERS} and --duration be at least 8 s")
    result = run(args)
    print("\n".join(result.lines))
    if result.failures:
        print("\nFAILED:\n" + "\n".join(f"- {failure}" for failure in result.failures))
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
