"""The benchmark's synthetic listings: reproducible, valid for the model, and never a real phone number."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection
from geopy.distance import great_circle

from bench.__main__ import APPS, app_env, server_env
from bench.datasets import read_into_page_cache
from bench.generator import LANGUAGE_CODES, TABLES, TOPIC_SLUGS, Atlas, build_atlas, generate, read_centroids
from bench.loader import compact_change_log, ensure_topics_and_languages, table_plans, write_batch
from bench.workloads import NEAREST, PEER_NEAREST, PEER_SERVICES, PEER_SMS, SERVICES, SMS
from directory import readmodel
from directory.geocoding import subdivision_for
from directory.models import (
    ContactChannel,
    Coverage,
    Location,
    OpeningInterval,
    Organization,
    Schedule,
    Service,
)

POSTCODES = Path(__file__).resolve().parent.parent / "fixtures" / "postcodes"
ANCHOR = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
FAKE_TOPIC_IDS = {slug: number for number, slug in enumerate(TOPIC_SLUGS, start=1)}
FAKE_LANGUAGE_IDS = {code: number for number, code in enumerate(LANGUAGE_CODES, start=1)}
# NANP 555-0100…0199, Ofcom's 07700 900xxx drama range, ACMA's 0491 570 xxx numbers.
SYDNEY = (-33.87, 151.21)
FICTIONAL_NUMBER = re.compile(r"\+1[2-9][0-9]{2}55501[0-9]{2}|\+447700900[0-9]{3}|\+61491570[0-9]{3}")


@pytest.fixture(scope="module")
def atlas() -> Atlas:
    return build_atlas(read_centroids(POSTCODES, subdivision_for))


def rows(atlas: Atlas, *, seed: int, services: int = 200, topic_ids=None, language_ids=None) -> list[dict]:
    return list(
        generate(
            services,
            seed=seed,
            atlas=atlas,
            topic_ids=topic_ids or FAKE_TOPIC_IDS,
            language_ids=language_ids or FAKE_LANGUAGE_IDS,
            anchor=ANCHOR,
        )
    )


def all_rows(batches: list[dict], table: str) -> list[tuple]:
    return [row for batch in batches for row in batch[table]]


def test_the_same_seed_gives_the_same_rows(atlas):
    assert rows(atlas, seed=7) == rows(atlas, seed=7)


def test_another_seed_gives_other_rows(atlas):
    assert all_rows(rows(atlas, seed=7), "coverage") != all_rows(rows(atlas, seed=8), "coverage")


def test_it_makes_exactly_the_asked_number_of_services_with_clearly_synthetic_names(atlas):
    services = all_rows(rows(atlas, seed=3), "service")
    names = [row[TABLES["service"].index("name")] for row in services]

    assert len(services) == 200
    assert all(
        re.fullmatch(r"Synthetic (Helpline|Police Unit|Support Agency|Reporting Portal) \d{7}", n) for n in names
    )


def test_every_phone_number_comes_from_a_range_reserved_for_fiction(atlas):
    columns = TABLES["channel"]
    channels = all_rows(rows(atlas, seed=5, services=2000), "channel")
    numbers = [
        row[columns.index("value")] for row in channels if row[columns.index("kind")] in ("phone", "sms", "whatsapp")
    ]

    assert numbers
    assert [number for number in numbers if not FICTIONAL_NUMBER.fullmatch(number)] == []


def test_locations_sit_near_a_real_postcode_centroid_of_their_country(atlas):
    centroids = {(c.country, c.postcode): c for cs in atlas.centroids.values() for c in cs}
    columns = TABLES["location"]
    locations = all_rows(rows(atlas, seed=11, services=1000), "location")

    assert locations
    for row in locations:
        centroid = centroids[(row[columns.index("country")], row[columns.index("postcode")])]
        point = (row[columns.index("latitude")], row[columns.index("longitude")])
        assert great_circle(point, (centroid.latitude, centroid.longitude)).km < 20


def test_listings_crowd_into_cities_as_people_do(atlas):
    columns = TABLES["location"]
    australian = [
        (row[columns.index("latitude")], row[columns.index("longitude")])
        for row in all_rows(rows(atlas, seed=2, services=5000), "location")
        if row[columns.index("country")] == "AU"
    ]
    near_sydney = [point for point in australian if great_circle(point, SYDNEY).km < 60]

    # 17% of Australian postcodes lie within 60 km of Sydney; denser cells weigh more, so listings crowd further.
    assert 0.25 < len(near_sydney) / len(australian) < 0.45


@pytest.mark.django_db
def test_generated_rows_load_through_the_bulk_loader_and_pass_model_validation(atlas):
    topic_ids, language_ids = ensure_topics_and_languages()
    plans = table_plans(connection)
    batches = rows(atlas, seed=1, topic_ids=topic_ids, language_ids=language_ids)
    first_service_id = batches[0]["service"][0][0]
    for batch in batches:
        write_batch(connection, plans, batch)

    services = Service.objects.filter(id__gte=first_service_id)
    assert services.count() == 200
    assert services.filter(schedules__channel__isnull=True).distinct().count() == 200
    assert services.filter(topics__isnull=True).count() == 0
    assert services.filter(languages__isnull=True).count() == 0
    assert services.filter(coverage__isnull=True).count() == 0
    for model in (Organization, Service, ContactChannel, Schedule, OpeningInterval, Coverage, Location):
        sample = model.objects.order_by("id")[::5]
        assert sample, model.__name__
        for instance in sample:
            instance.full_clean()


@pytest.mark.django_db(transaction=True)
def test_after_a_bulk_load_the_change_log_is_one_entry_that_leaves_no_gap_to_wait_for(atlas):
    topic_ids, language_ids = ensure_topics_and_languages()
    plans = table_plans(connection)
    for batch in rows(atlas, seed=2, topic_ids=topic_ids, language_ids=language_ids):
        write_batch(connection, plans, batch)
    compact_change_log(connection)

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, service_id FROM directory_change")
        assert cursor.fetchall() == [(1, None)]
    readmodel.reset()
    model = readmodel.current()
    assert model is not None
    assert model.gaps == {}, "no id below the revision was ever used"
    readmodel.reset()


def test_a_dataset_is_read_whole_with_its_wal_before_it_is_measured(tmp_path):
    database = tmp_path / "bench-200.sqlite3"
    database.write_bytes(b"x" * 3_000_000)
    (tmp_path / "bench-200.sqlite3-wal").write_bytes(b"y" * 1_000_000)
    lines: list[str] = []
    read_into_page_cache(database, lines.append)
    assert len(lines) == 1
    assert lines[0].startswith("  read 4 MB into the page cache")


def test_the_peer_is_served_by_a_server_of_its_own_with_the_same_application_and_no_read_model():
    assert {workload.app for workload in (PEER_NEAREST, PEER_SERVICES, PEER_SMS)} == {"peer"}
    assert {workload.app for workload in (NEAREST, SERVICES, SMS)} == {"project"}
    assert APPS["peer"] == APPS["project"]
    env = server_env("")
    assert app_env("project", env) == env
    assert app_env("peer", env) == {name: value for name, value in env.items() if name != "READ_MODEL_PRELOAD"}
