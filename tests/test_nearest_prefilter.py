"""The index-backed prefilter must find exactly what an exhaustive scan finds."""

import random

import pytest
from django.utils import timezone
from geopy.distance import geodesic

from directory.models import Coverage, Location, Topic
from directory.search import COVERAGE_RINGS_KM, LOCATED_RINGS_KM, HelpQuery, nearest_points, service_conditions
from tests import builders

pytestmark = pytest.mark.django_db

# Clusters like real cities (Regina, London, Sydney, Dublin), plus a scatter far from any city.
CENTRES = [(50.45, -104.61), (51.51, -0.13), (-33.87, 151.21), (53.35, -6.26)]


def build_dataset(seed: int, size: int, topic_share: float = 0.0) -> None:
    rng = random.Random(seed)
    for number in range(size):
        lat, lon = rng.choice(CENTRES)
        spread = rng.choice([0.05, 0.3, 1.5])
        point = (lat + rng.gauss(0, spread), lon + rng.gauss(0, spread))
        radius = rng.choice([None, None, 10.0, 60.0])
        topics = ("sextortion",) if rng.random() < topic_share else ()
        builders.service(
            f"Synthetic Example {seed}-{number:04}", country="CA", point=point, radius_km=radius, topics=topics
        )


def exhaustive(point, rows, max_km: float, own_radius: bool, slack: float) -> list[tuple[float, int]]:
    """Every row within ``max_km`` (and its own radius), both scaled by ``slack``, nearest first."""
    found = []
    for service_id, lat, lon, radius in rows:
        distance = geodesic(point, (lat, lon)).km
        if distance <= max_km * slack and (not own_radius or distance <= radius * slack):
            found.append((distance, service_id))
    return sorted(found)


def assert_agrees(got, rows, point, wanted: int, max_km: float, own_radius: bool) -> None:
    # The SQL prefilter uses an equirectangular distance, within 1% of the geodesic one here: rows that
    # close to a boundary may go either way; everything else must match the exhaustive scan exactly.
    surely = exhaustive(point, rows, max_km, own_radius, 0.99)
    maybe = exhaustive(point, rows, max_km, own_radius, 1.01)
    assert min(wanted, len(surely)) <= len(got) <= min(wanted, len(maybe))
    distances = {service_id: distance for distance, service_id in maybe}
    got_ids = {service_id for service_id, _lat, _lon in got}
    assert got_ids <= set(distances)
    if got:
        farthest = max(distances[service_id] for service_id in got_ids)
        assert {service_id for distance, service_id in surely if distance < farthest * 0.99 - 0.05} <= got_ids


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_located_prefilter_agrees_with_an_exhaustive_scan(seed):
    build_dataset(seed, 240)
    rows = [(s, lat, lon, 0.0) for s, lat, lon in Location.objects.values_list("service_id", "latitude", "longitude")]
    rng = random.Random(seed * 100)
    for _ in range(25):
        lat, lon = rng.choice(CENTRES)
        point = (lat + rng.uniform(-1.5, 1.5), lon + rng.uniform(-1.5, 1.5))
        wanted = rng.choice([1, 5, 30])
        got = nearest_points(Location, point, LOCATED_RINGS_KM, wanted)
        assert_agrees(got, rows, point, wanted, LOCATED_RINGS_KM[-1], own_radius=False)


@pytest.mark.parametrize("seed", [4, 5])
def test_radius_coverage_prefilter_agrees_with_an_exhaustive_scan(seed):
    build_dataset(seed, 240)
    radius_rows = Coverage.objects.filter(scope="radius")
    rows = list(radius_rows.values_list("service_id", "latitude", "longitude", "radius_km"))
    rng = random.Random(seed * 100)
    for _ in range(25):
        lat, lon = rng.choice(CENTRES)
        point = (lat + rng.uniform(-1, 1), lon + rng.uniform(-1, 1))
        wanted = rng.choice([1, 5, 30])
        got = nearest_points(Coverage, point, COVERAGE_RINGS_KM, wanted)
        assert_agrees(got, rows, point, wanted, COVERAGE_RINGS_KM[-1], own_radius=True)


@pytest.mark.parametrize("seed", [6, 7])
def test_with_a_rare_topic_the_prefilter_still_agrees_with_an_exhaustive_scan(seed):
    # One listing in ten has the topic: the nearest points of a ring are mostly the wrong ones, so
    # the search must ask the same ring again for more before it may widen.
    build_dataset(seed, 300, topic_share=0.1)
    conditions = service_conditions(HelpQuery(country="CA"), Topic.objects.get(slug="sextortion").id, timezone.now())
    with_topic = Location.objects.filter(service__topics__slug="sextortion")
    rows = [(s, lat, lon, 0.0) for s, lat, lon in with_topic.values_list("service_id", "latitude", "longitude")]
    radius = Coverage.objects.filter(scope="radius", service__topics__slug="sextortion")
    radius_rows = list(radius.values_list("service_id", "latitude", "longitude", "radius_km"))
    rng = random.Random(seed * 100)
    for _ in range(20):
        lat, lon = rng.choice(CENTRES)
        point = (lat + rng.uniform(-0.5, 0.5), lon + rng.uniform(-0.5, 0.5))
        wanted = rng.choice([1, 5, 12])
        got = nearest_points(Location, point, LOCATED_RINGS_KM, wanted, conditions)
        assert_agrees(got, rows, point, wanted, LOCATED_RINGS_KM[-1], own_radius=False)
        got = nearest_points(Coverage, point, COVERAGE_RINGS_KM, wanted, conditions)
        assert_agrees(got, radius_rows, point, wanted, COVERAGE_RINGS_KM[-1], own_radius=True)


def test_a_crowd_at_the_same_spot_does_not_hide_the_matching_services_behind_it():
    centre = (50.45, -104.61)
    for number in range(150):
        builders.service(f"Crowd Example {number:03}", country="CA", point=centre)
    near = [(50.46, -104.61), (50.47, -104.62), (50.50, -104.70)]
    for number, point in enumerate(near):
        builders.service(f"Topic Example {number}", country="CA", point=point, topics=("sextortion",))
    conditions = service_conditions(HelpQuery(country="CA"), Topic.objects.get(slug="sextortion").id, timezone.now())
    got = nearest_points(Location, centre, LOCATED_RINGS_KM, 3, conditions)
    assert [(lat, lon) for _service, lat, lon in got] == near
