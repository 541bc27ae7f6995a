"""The services list answers from the read model exactly as its SQL filters do, page by page."""

import random

import pytest
from django.core.cache import cache
from django.test import override_settings

from directory.models import Coverage, Location, Service
from tests.openapi_client import ValidatingAPIClient
from tests.test_read_model_search import KINDS, LANGUAGES, TOPICS, build_dataset

pytestmark = pytest.mark.django_db

SERVICES = "/api/v1/services/"


def random_filters(rng: random.Random) -> dict:
    filters: dict = {}
    if rng.random() < 0.5:
        filters["country"] = rng.choice(["CA", "GB", "AU", "US"])
    elif rng.random() < 0.3:
        filters["region"] = rng.choice(["CA-SK", "GB-ENG", "AU-NSW", "CA-ON"])
    if rng.random() < 0.5:
        filters["topic"] = rng.choice(TOPICS)
    if rng.random() < 0.4:
        filters["kind"] = rng.sample(KINDS, rng.randint(1, 2))
    if rng.random() < 0.3:
        filters["language"] = rng.choice(LANGUAGES)
    if rng.random() < 0.2:
        filters["age"] = rng.choice([12, 16, 30])
    if rng.random() < 0.4:
        filters["verified"] = rng.choice(["true", "false", "any"])
    if rng.random() < 0.3:
        filters["page_size"] = rng.choice([1, 5, 7])
        filters["page"] = rng.choice([1, 2, 3])
    if rng.random() < 0.1:
        filters["lang"] = "fr"
    return filters


@pytest.mark.parametrize("seed", [5, 6])
def test_the_read_model_lists_the_same_pages_as_the_sql_filters(seed, settings):
    # 120 requests: past the anonymous limit they would compare two 429s.
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "100000/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    build_dataset(seed, 120)
    # Every kind of place a country filter can match: radius coverage, locations without a point.
    some = Service.objects.order_by("id")[:3]
    Coverage.objects.create(service=some[0], scope="radius", country="US", latitude=40.7, longitude=-74.0, radius_km=9)
    Location.objects.create(service=some[1], country="US", subdivision="US-NY")
    api = ValidatingAPIClient()
    rng = random.Random(seed)
    for _ in range(60):
        # Fresh throttle counters: every request is answered, none refused as over the anonymous rate.
        cache.clear()
        filters = random_filters(rng)
        fast = api.get(SERVICES, filters)
        with override_settings(READ_MODEL=False):
            slow = api.get(SERVICES, filters)
        assert fast.status_code == slow.status_code, filters
        assert fast.status_code in (200, 400, 404), (filters, fast.json())  # 404: a page past the last
        assert fast.json() == slow.json(), filters


def test_a_renamed_listing_moves_in_the_list_at_once():
    build_dataset(7, 30)
    api = ValidatingAPIClient()
    first = api.get(SERVICES, {"verified": "any"}).json()["results"][0]
    service = Service.objects.get(pk=first["id"])
    service.name = "Zzz Renamed Example"
    service.save()
    results = api.get(SERVICES, {"verified": "any", "page_size": "100"}).json()["results"]
    assert results[-1]["id"] == service.pk
