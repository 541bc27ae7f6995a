"""The in-memory search gives exactly the answers of the SQL reference, and follows every change."""

import logging
import random
from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from directory import lists, readmodel
from directory.models import ContactChannel, Coverage, Location, Service, ServiceKind, ServiceStatus, Topic
from directory.search import HelpQuery, find_help
from directory.search.memory import MemorySource
from directory.search.reference import SqlSource
from tests import builders

pytestmark = pytest.mark.django_db

CENTRES = [(50.45, -104.61, "CA", "CA-SK"), (51.51, -0.13, "GB", "GB-ENG"), (-33.87, 151.21, "AU", "AU-NSW")]
TOPICS = ("sextortion", "image_removal", "emotional_support", "police_reporting")
LANGUAGES = ("en", "fr", "es", "de")
KINDS = tuple(ServiceKind.values)
WEEKDAYS = tuple((day, time(9), time(17)) for day in range(5))
NIGHTS = ((5, time(22), time(6)), (6, time(20), time(2)))


def build_dataset(seed: int, size: int) -> None:
    """Listings of every shape the search distinguishes, drawn at random around a few cities."""
    rng = random.Random(seed)
    now = timezone.now()
    for number in range(size):
        lat, lon, country, subdivision = rng.choice(CENTRES)
        spread = rng.choice([0.02, 0.2, 1.0])
        point = (lat + rng.gauss(0, spread), lon + rng.gauss(0, spread))
        shape = rng.random()
        where: dict = {"country": country, "point": point}
        if shape < 0.15:
            where = {"country": country, "point": point, "radius_km": rng.choice([5.0, 30.0, 120.0])}
        elif shape < 0.25:
            where = {"subdivision": subdivision}
        elif shape < 0.32:
            where = {"country": country}
        elif shape < 0.35:
            where = {"worldwide": True}
        hours: dict = rng.choice([{}, {"always_open": True}, {"hours": WEEKDAYS}, {"hours": NIGHTS}])
        minimum = rng.choice([None, None, 13, 18])
        created = builders.service(
            f"Example {rng.choice('ABC')} {number:03}",
            kind=rng.choice(KINDS),
            topics=tuple(rng.sample(TOPICS, rng.randint(0, 2))),
            languages=tuple(rng.sample(LANGUAGES, rng.randint(0, 2))),
            state=rng.choice(["verified", "verified", "verified", "pending", "unverified", "stale"]),
            timezone=rng.choice(["America/Regina", "Europe/London", "Australia/Sydney"]),
            phone=f"+1306555{number % 100:02}{number // 100:02}",
            min_age=minimum,
            max_age=rng.choice([None, 17, 25]) if minimum is None or minimum < 17 else None,
            status=rng.choice([ServiceStatus.ACTIVE] * 9 + [ServiceStatus.INACTIVE]),
            **where,
            **hours,
        )
        changes: dict = {}
        if rng.random() < 0.1:
            changes["review_due"] = now - timedelta(days=3)
        if rng.random() < 0.05:
            changes["archived_at"] = now
        if rng.random() < 0.1:
            changes["translations"] = {"fr": {"name": f"Exemple {number:03}"}}
        if changes:
            Service.objects.filter(pk=created.pk).update(**changes)


def random_queries(rng: random.Random, count: int) -> list[HelpQuery]:
    queries = []
    for _ in range(count):
        lat, lon, country, subdivision = rng.choice(CENTRES)
        located = rng.random() < 0.85
        queries.append(
            HelpQuery(
                country=country,
                latitude=lat + rng.uniform(-1.2, 1.2) if located else None,
                longitude=lon + rng.uniform(-1.2, 1.2) if located else None,
                subdivision=subdivision if rng.random() < 0.7 else "",
                topic=rng.choice(["", "", *TOPICS]),
                language=rng.choice(LANGUAGES),
                reply_language=rng.choice(["", "fr", "de"]),
                kinds=tuple(sorted(rng.sample(KINDS, rng.choice([0, 0, 1, 2])))),
                open_now=rng.random() < 0.2,
                age=rng.choice([None, None, 12, 16, 30]),
                verified_only=rng.random() < 0.3,
                limit=rng.choice([1, 3, 10, 12, 30]),
            )
        )
    return queries


def answers(source, queries, now):
    cache.clear()
    return [find_help(query, now=now, source=source) for query in queries]


@pytest.mark.parametrize("seed", [1, 2])
def test_the_read_model_answers_exactly_as_the_sql_reference_on_random_listings_and_queries(seed):
    build_dataset(seed, 160)
    rng = random.Random(seed * 1000)
    queries = random_queries(rng, 120)
    for now in (timezone.now(), timezone.now() + timedelta(hours=rng.randint(1, 160))):
        expected = answers(SqlSource(), queries, now)
        assert answers(MemorySource(readmodel.build()), queries, now) == expected
    assert sum(len(answer.results) for answer in expected) > 400


def test_a_change_by_any_path_is_in_the_next_answer_and_only_that_listing_is_reloaded():
    build_dataset(3, 80)
    readmodel.reset()
    built = readmodel.current()
    assert built is not None
    queries = random_queries(random.Random(3), 40)
    now = timezone.now()
    target = Service.objects.filter(locations__isnull=False, status=ServiceStatus.ACTIVE).order_by("id")[0]
    # An archive through the ORM, a new location, a new listing, and a change in raw SQL.
    Service.objects.filter(pk=target.pk).update(archived_at=now)
    moved = Location.objects.exclude(service=target).order_by("id")[0]
    Location.objects.create(service=moved.service, country="CA", latitude=50.5, longitude=-104.6)
    builders.service("Brand New Line", country="CA", point=(50.45, -104.6), topics=("sextortion",), always_open=True)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE directory_coverage SET radius_km = radius_km * 2 WHERE scope = 'radius'")
    ContactChannel.objects.filter(service=moved.service).delete()

    refreshed = readmodel.current()
    assert refreshed is built  # patched in place, not rebuilt
    assert 0 < built.patched < Service.objects.count()
    expected = answers(SqlSource(), queries, now)
    assert answers(MemorySource(refreshed), queries, now) == expected
    assert answers(MemorySource(readmodel.build()), queries, now) == expected


def test_a_new_topic_rebuilds_the_model():
    build_dataset(4, 10)
    readmodel.reset()
    built = readmodel.current()
    Topic.objects.create(slug="new_topic", names={"en": "New"})
    rebuilt = readmodel.current()
    assert rebuilt is not None
    assert rebuilt is not built
    assert "new_topic" in rebuilt.topic_slugs.values()


def test_every_directory_table_logs_the_listing_it_changed():
    created = builders.service(
        "Logged Example", country="CA", point=(50.0, -104.0), always_open=True, phone="+13065550100"
    )
    sextortion = builders.topic("sextortion")
    before = readmodel.revision()[0]
    Coverage.objects.create(service=created, scope="country", country="CA")
    location = Location.objects.get(service=created)
    location.city = "Regina"
    location.save()
    created.schedules.get().intervals.create(weekday=1, opens=time(9), closes=time(10))
    created.topics.set([sextortion])
    with connection.cursor() as cursor:
        cursor.execute("SELECT service_id FROM directory_change WHERE id > %s", [before])
        logged = {row[0] for row in cursor.fetchall()}
    assert logged == {created.pk}


def _archived_in(model: readmodel.ReadModel, service_id: int) -> bool:
    return bool(model.archived[model.rows_of([service_id])[0]])


def test_a_change_logged_below_the_revision_after_it_was_read_is_still_loaded(settings):
    """A transaction's change-log id is taken when it writes; a later id can commit, and be seen, first."""
    # The late commit is made by hand below, as another node's would be: asked for on every answer.
    settings.READ_MODEL_CHECK_MS = 0
    first = builders.service("First Line", country="CA", point=(50.45, -104.6), always_open=True)
    second = builders.service("Second Line", country="CA", point=(50.46, -104.6), always_open=True)
    readmodel.reset()
    model = readmodel.current()
    assert model is not None
    Service.objects.filter(pk=first.pk).update(archived_at=timezone.now())
    with connection.cursor() as cursor:
        # As if the first change were still uncommitted: its entry is not there yet.
        cursor.execute("SELECT id, token FROM directory_change WHERE service_id = %s ORDER BY id DESC", [first.pk])
        late_id, late_token = cursor.fetchone()
        cursor.execute("DELETE FROM directory_change WHERE id = %s", [late_id])
    Service.objects.filter(pk=second.pk).update(archived_at=timezone.now())

    assert readmodel.current() is model
    assert model.revision[0] > late_id
    assert late_id in model.gaps
    assert _archived_in(model, second.pk)
    assert not _archived_in(model, first.pk)

    with connection.cursor() as cursor:  # the first transaction commits
        cursor.execute(
            "INSERT INTO directory_change (id, service_id, token) VALUES (%s, %s, %s)", [late_id, first.pk, late_token]
        )
    assert readmodel.current() is model
    assert _archived_in(model, first.pk)
    assert late_id not in model.gaps


def test_a_gap_is_given_up_after_a_while(monkeypatch, settings):
    """A rolled-back transaction's id never appears: it is asked for only until GAP_SECONDS have passed."""
    settings.READ_MODEL_CHECK_MS = 0  # the log is written by hand below, as another node's commits would be
    first = builders.service("First Line", country="CA", point=(50.45, -104.6), always_open=True)
    monkeypatch.setattr(readmodel, "GAP_SECONDS", 0.0)
    readmodel.reset()
    model = readmodel.current()
    assert model is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id) FROM directory_change")
        (top,) = cursor.fetchone()
        cursor.execute("INSERT INTO directory_change (id, service_id, token) VALUES (%s, %s, 7)", [top + 2, first.pk])
    readmodel.current()
    assert model.revision[0] == top + 2
    readmodel.current()
    assert model.gaps == {}


def test_the_revision_check_looks_up_its_rows_by_primary_key_on_a_long_log():
    created = builders.service("Logged Example", country="CA", point=(50.0, -104.0), always_open=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id) FROM directory_change")
        (top,) = cursor.fetchone()
        cursor.executemany(
            "INSERT INTO directory_change (id, service_id, token) VALUES (%s, %s, 1)",
            [(top + n, created.pk) for n in range(1, 20_001)],
        )
        cursor.execute("DELETE FROM directory_change WHERE id < %s", [top + 19_990])  # dead rows, as after a purge
        cursor.execute("ANALYZE directory_change")
        explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        cursor.execute(explain + readmodel._CHECK.format(ids="%s, %s"), [top + 19_995, top + 19_997])
        plan = " ".join(str(part) for row in cursor.fetchall() for part in row)
    if connection.vendor == "sqlite":
        assert "SCAN directory_change" not in plan, plan
        assert "USING INTEGER PRIMARY KEY" in plan, plan
    else:
        assert "Seq Scan on directory_change" not in plan, plan
        assert "directory_change_pkey" in plan, plan


@pytest.mark.django_db(transaction=True)
def test_two_transactions_committing_out_of_order_both_reach_the_model(settings):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: its entries commit in id order")
    settings.READ_MODEL_CHECK_MS = 0  # the other transaction is another node's: asked for on every answer
    import psycopg

    first = builders.service("First Line", country="CA", point=(50.45, -104.6), always_open=True)
    second = builders.service("Second Line", country="CA", point=(50.46, -104.6), always_open=True)
    readmodel.reset()
    model = readmodel.current()
    assert model is not None
    params = connection.settings_dict
    other = psycopg.connect(
        host=params["HOST"],
        port=params["PORT"],
        dbname=params["NAME"],
        user=params["USER"],
        password=params["PASSWORD"] or None,
    )
    try:
        other.execute("UPDATE directory_service SET archived_at = now() WHERE id = %s", [first.pk])  # not committed
        Service.objects.filter(pk=second.pk).update(archived_at=timezone.now())  # committed, a later id
        assert readmodel.current() is model
        assert _archived_in(model, second.pk)
        assert not _archived_in(model, first.pk)
        assert _listed(model) == [first.pk]
        other.commit()
    finally:
        other.close()
    assert readmodel.current() is model
    assert _archived_in(model, first.pk)
    # The late entry is below the revision the model already had: the services list follows all the same.
    assert _listed(model) == []


def _listed(model):
    """The ids a services list with no filters gives from the model."""
    index = lists.index_for(model)
    matching = lists.MatchingIds(index, index.matching({}, timezone.now()))
    return matching[0 : len(matching)]


def test_a_build_that_fails_in_the_preload_child_logs_why(monkeypatch, tmp_path):
    def broken() -> readmodel.ReadModel:
        raise ValueError("the listings table is not there")

    monkeypatch.setattr(readmodel, "build", broken)
    log = tmp_path / "child.log"
    handler = logging.FileHandler(log)  # the forked child writes its log here too
    readmodel.logger.addHandler(handler)
    try:
        with pytest.raises(RuntimeError, match="building the read model failed"):
            readmodel._built_in_child()
    finally:
        readmodel.logger.removeHandler(handler)
        handler.close()
    logged = log.read_text()
    assert "building the read model failed" in logged
    assert "ValueError: the listings table is not there" in logged


@pytest.mark.parametrize("seed", range(5))
def test_the_points_in_a_box_are_exactly_those_a_scan_of_every_point_finds(seed):
    """``Points.runs`` and ``in_runs`` (cells looked up, not scanned) against a test of every point,
    with points on cell edges, near the poles and the antimeridian, dead points and the unsorted tail."""
    rng = np.random.default_rng(seed)
    centres = np.array([[51.5, -0.1], [-33.9, 151.2], [89.95, 10.0], [-89.9, -179.95], [0.0, 179.96]])
    around = centres[rng.integers(0, len(centres), 3000)]
    lat = np.clip(around[:, 0] + rng.normal(0, 0.6, 3000), -90.0, 90.0)
    lon = np.clip(around[:, 1] + rng.normal(0, 0.6, 3000), -180.0, 180.0)
    lat[:300], lon[:300] = np.round(lat[:300], 1), np.round(lon[:300], 1)  # on cell edges
    row = rng.integers(0, 800, 3000).astype(np.int32)
    radius = rng.uniform(1, 50, 3000)
    points = readmodel.Points(lat, lon, row, radius)
    assert points.radius is not None
    changed = np.unique(rng.integers(0, 800, 40)).astype(np.int32)
    tail_lat, tail_lon = centres[:, 0] + 0.05, np.clip(centres[:, 1] + 0.05, -180.0, 180.0)
    points.replace(changed, tail_lat, tail_lon, changed[: len(centres)], np.full(len(centres), 9.0))
    alive = points.alive
    columns = (points.lat[alive], points.lon[alive], points.row[alive], points.radius[alive])
    everything = [*zip(*columns, strict=True), *points.extra]
    for _ in range(60):
        lat0, lon0 = centres[rng.integers(0, len(centres))] + rng.normal(0, 0.3, 2)
        dlat, dlon = rng.choice([0.0, 0.05, 0.1, 0.37, 2.0]), rng.choice([0.0, 0.1, 0.55, 3.0, 180.0])
        starts, ends = points.runs(lat0, lon0, dlat, dlon)
        found = points.in_runs(starts, ends, lat0, lon0, dlat, dlon)
        expected = {
            (float(a), float(b), int(r), float(d))
            for a, b, r, d in everything
            if lat0 - dlat <= a <= lat0 + dlat and lon0 - dlon <= b <= lon0 + dlon
        }
        got = [(float(a), float(b), int(r), float(d)) for a, b, r, d in zip(*found, strict=True)]
        assert len(got) == len(expected)
        assert set(got) == expected
        assert int((ends - starts).sum()) + len(points.extra) >= len(got)


def test_a_kept_area_answer_is_the_answer_computed_afresh_at_any_moment():
    """Area answers are kept while the clock changes nothing they depend on: review dates passing (and,
    with the clock set back, un-passing) must give what a model with nothing kept gives."""
    build_dataset(3, 120)
    now = timezone.now()
    rng = random.Random(3)
    for service in Service.objects.filter(verification_state="verified").order_by("id"):
        Service.objects.filter(pk=service.pk).update(review_due=now + timedelta(hours=rng.uniform(-48, 48)))
    model = readmodel.build()
    kept, fresh = MemorySource(model), MemorySource(readmodel.build())
    dates = [due for due in model.review_due.tolist() if due == due]
    moments = [now + timedelta(hours=rng.uniform(-60, 60)) for _ in range(40)]
    moments += [datetime.fromtimestamp(due, UTC) for due in rng.sample(dates, 10)]  # exactly at a review date
    moments += [datetime.fromtimestamp(due, UTC) + timedelta(microseconds=1) for due in rng.sample(dates, 10)]
    rng.shuffle(moments)
    areas = [
        ("worldwide", "country", ""),
        *(("country", "country", country) for country in ("CA", "GB", "AU")),
        *(("subdivision", "subdivision", code) for code in ("CA-SK", "GB-ENG", "AU-NSW")),
    ]
    differing = set()
    for moment in moments:
        for verified_only in (False, True):
            query = HelpQuery(country="CA", verified_only=verified_only)
            for scope, column, code in areas:
                for helpline in (False, True):
                    conditions = kept.conditions(query, None, moment)
                    args = (scope, column, code, conditions, "en", moment, 30)
                    found = kept.area(*args, always_open_helpline=helpline)
                    fresh.model.stats.clear()  # nothing kept
                    assert found == fresh.area(*args, always_open_helpline=helpline)
                    differing.add((scope, code, verified_only, helpline, tuple(found)))
    assert len(differing) > 30  # the moments did change the answers


def test_a_kept_area_answer_follows_a_change_to_the_model(settings):
    settings.READ_MODEL_CHECK_MS = 0
    build_dataset(4, 80)
    readmodel.reset()
    now = timezone.now()
    built = readmodel.current()
    assert built is not None
    source = MemorySource(built)
    conditions = source.conditions(HelpQuery(country="CA"), None, now)
    found = source.area("country", "country", "CA", conditions, "en", now, 30)
    assert found
    Service.objects.filter(pk=found[0]).update(archived_at=now)
    model = readmodel.current()
    assert model is built  # patched in place, the kept answers with it
    assert MemorySource(model).area("country", "country", "CA", conditions, "en", now, 30) == found[1:]
