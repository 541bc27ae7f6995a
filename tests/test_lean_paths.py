"""The lean paths of the busiest reads give exactly what the full parsers and the column scans give."""

import random
from datetime import timedelta
from types import SimpleNamespace

import numpy as np
import pytest
from django.http import QueryDict
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory import lean, lists, readmodel
from directory.serializers import NearestQuerySerializer
from tests import builders
from tests.test_read_model_search import build_dataset

pytestmark = pytest.mark.django_db

# Plain values and near misses of each parameter: the lean parser takes some, the serializer decides the rest.
VALUES = {
    "postcode": ["S4P3Y2", "S4P 3Y2", " S4P", "sw1a1aa", "2000", "", "x" * 16, "x" * 17, "S4P\t", "é1"],
    "country": ["CA", "ca", "GB", "XX", "C", "CAN", " CA", "", "1A"],
    "lat": ["50.45", "-33.8", "90", "91", "90.0001", "1e1", "nan", " 50", "50.", "", "-0"],
    "lon": ["-104.61", "151.2", "180", "-180", "181", "inf", "1_0", ""],
    "topic": ["sextortion", "image_removal", "Sextortion", "nothing", ""],
    "language": ["en", "EN", "fra", "de", "klingon", "xx", "", " fr"],
    "kind": ["helpline", "police", "shop", "", "HELPLINE"],
    "open_now": ["true", "false", "1", "0", "True", "yes", "perhaps", ""],
    "age": ["0", "16", "120", "121", "-3", "15.0", " 16", ""],
    "limit": ["1", "10", "50", "51", "0", "ten", "007", ""],
    "verified": ["any", "true", "false", "no", ""],
    "lang": ["en", "fr", "xx"],
    "other": ["1"],
}


@pytest.fixture
def model():
    builders.topic("sextortion")
    builders.topic("image_removal")
    builders.service("Lean Example Line", country="CA", phone="+13065550101")
    found = readmodel.current()
    assert found is not None
    return found


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(
        st.sampled_from(sorted(VALUES)),
        st.lists(st.integers(0, 20), min_size=1, max_size=2),
        max_size=5,
    )
)
def test_the_lean_nearest_parser_agrees_with_the_serializer(model, drawn):
    query = QueryDict(mutable=True)
    for key, picks in drawn.items():
        query.setlist(key, [VALUES[key][pick % len(VALUES[key])] for pick in picks])
    lean_params = lean.nearest_params(query, model)
    if lean_params is None:
        return  # the serializer decides, and the view uses its answer
    full = NearestQuerySerializer(data=query)
    assert full.is_valid(), (dict(query.lists()), full.errors)
    expected = dict(full.validated_data)
    if "topic" in expected:
        expected["topic"] = expected["topic"].slug
    assert lean_params == expected, dict(query.lists())


def test_plain_nearest_parameters_take_the_lean_path(model):
    query = QueryDict("postcode=S4P3Y2&country=CA&topic=sextortion&kind=police&kind=helpline&limit=5&open_now=true")
    assert lean.nearest_params(query, model) == {
        "postcode": "S4P3Y2",
        "country": "CA",
        "topic": "sextortion",
        "kind": ["police", "helpline"],
        "limit": 5,
        "open_now": True,
        "verified": "any",
    }


def test_the_list_index_follows_the_clock_both_ways():
    build_dataset(11, 80)
    model = readmodel.current()
    assert model is not None
    index = lists.index_for(model)
    now = timezone.now()
    moments = [now + timedelta(days=days) for days in (-400, 0, 30, 90, 200, 400, 1000)]
    rng = random.Random(3)
    for moment in [*moments, *reversed(moments), *rng.sample(moments, len(moments))]:
        for verified in ("true", "false", "any"):
            bits = index.matching({"verified": verified}, moment)
            found = lists.MatchingIds(index, bits)
            expected = lists.OrderedIds(model, lists.matching(model, {"verified": verified}, moment))
            assert len(found) == len(expected)
            assert found[0 : len(found)] == expected[0 : len(expected)]
            for start, stop in ((0, 1), (3, 9), (len(found) - 2, len(found) + 5)):
                assert found[max(start, 0) : stop] == expected[max(start, 0) : stop]


def test_a_page_of_matching_ids_is_the_slice_of_every_set_bit_in_order():
    # Sparse bits leave whole words empty between matches: a page must step over them, and a dense run must
    # be read bit by bit. Each set bit is compared with a plain unpacking of every word.
    rng = np.random.default_rng(5)
    size = 64 * 300
    order = rng.permutation(size).astype(np.int32)
    index = SimpleNamespace(model=SimpleNamespace(ids=np.arange(size, dtype=np.int64) * 3 + 7), order=order)
    for share in (0.0, 0.0005, 0.01, 0.3, 1.0):
        chosen = rng.random(size) < share
        chosen[rng.integers(0, size, 2)] = share > 0
        bits = np.packbits(chosen, bitorder="little").view(np.uint64)
        every = [int(index.model.ids[order[position]]) for position in np.flatnonzero(chosen)]
        found = lists.MatchingIds(index, bits)  # type: ignore[arg-type]
        assert len(found) == len(every)
        pages = [(0, 20), (0, len(every)), (len(every) - 3, len(every) + 4), (5, 6), (len(every), len(every) + 1)]
        pages += [tuple(sorted(rng.integers(0, len(every) + 2, 2).tolist())) for _ in range(30)]
        for start, stop in pages:
            start = max(start, 0)
            assert found[start:stop] == every[start:stop], (share, start, stop)


def test_the_list_index_is_rebuilt_when_the_model_moves():
    build_dataset(12, 20)
    model = readmodel.current()
    assert model is not None
    before = lists.index_for(model)
    assert lists.index_for(model) is before
    builders.service("Aaa New Example Line", country="CA", phone="+13065550102")
    model = readmodel.current()
    assert model is not None
    after = lists.index_for(model)
    assert after is not before
    bits = after.matching({"verified": "any"}, timezone.now())
    names = np.asarray(lists.MatchingIds(after, bits)[0:1])
    assert len(names) == 1
