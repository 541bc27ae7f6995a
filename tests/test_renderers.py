"""The API's JSON renderer gives DRF's JSON renderer's bodies, encoded by orjson where it can."""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer as DRFRenderer
from rest_framework.serializers import Serializer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from directory.models import ServiceKind
from directory.renderers import JSONRenderer

PLAIN = [
    {},
    [],
    "",
    0,
    True,
    {"count": 2, "next": None, "results": [{"id": 1, "name": "Childline", "distance_km": 1.2, "open": True}]},
    {"name": "Jeunesse, J'écoute", "reasons": ["Répond en français", "24/7"], "lat": 45.5017, "lon": -73.5673},
    {"text": "line\u2028break\u2029paragraph \u2013 \u201cquoted\u201d", "emoji": "\U0001f4de", "nul": "\x00"},
    {"big": 2**63 - 1, "small": -(2**63), "float": 12345678.125, "tiny": 0.5, "negative_zero": -0.0},
    {"nested": [[[{"a": [1, 2, (3, 4)]}]]], "tuple": (1, "two", None)},
    {"kind": ServiceKind.HELPLINE, "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678")},
    ReturnDict({"id": 7, "topics": ReturnList(["sextortion"], serializer=Serializer())}, serializer=Serializer()),
]


@pytest.mark.parametrize("data", PLAIN, ids=range(len(PLAIN)))
def test_a_plain_body_has_the_same_bytes_as_drfs(data):
    assert JSONRenderer().render(data) == DRFRenderer().render(data)


@dataclass
class _Point:
    lat: float


LEFT_TO_DRF = [
    {"updated_at": datetime(2026, 12, 2, 7, 30, 15, 123456, tzinfo=UTC)},
    {"day": date(2026, 12, 2), "opens": time(9, 30)},
    {"amount": Decimal("12.50")},
    {"label": gettext_lazy("Open now")},
    {"languages": {"en"}},
    {"huge": 2**64},
    {1: "a key that is not a string"},
    {"wait": timedelta(minutes=5)},
]


@pytest.mark.parametrize("data", LEFT_TO_DRF, ids=range(len(LEFT_TO_DRF)))
def test_what_orjson_would_write_otherwise_is_left_to_drf(data):
    assert JSONRenderer().render(data) == DRFRenderer().render(data)


def test_a_dataclass_is_refused_as_drf_refuses_it():
    for renderer in (JSONRenderer(), DRFRenderer()):
        with pytest.raises(TypeError, match="_Point is not JSON serializable"):
            renderer.render({"point": _Point(51.5)})


def test_an_indented_body_is_drfs():
    data = {"results": [{"id": 1, "name": "Example"}]}
    for accepted, context in (("application/json; indent=4", None), (None, {"indent": 2})):
        body = JSONRenderer().render(data, accepted, context)
        assert body == DRFRenderer().render(data, accepted, context)
        assert b"\n" in body


def test_no_body_is_empty():
    assert JSONRenderer().render(None) == b""


def test_numbers_python_spells_with_an_exponent_keep_their_value():
    data = {"distance_km": 1e-05, "latitude": 1e-7, "huge": 1e22}
    assert json.loads(JSONRenderer().render(data)) == json.loads(DRFRenderer().render(data)) == data


def test_a_float_that_is_not_a_number_is_null_where_drf_refuses_the_body():
    with pytest.raises(ValueError, match="Out of range float values"):
        DRFRenderer().render({"distance_km": float("nan")})
    assert JSONRenderer().render({"distance_km": float("nan"), "x": float("inf")}) == b'{"distance_km":null,"x":null}'


@pytest.mark.django_db
def test_the_api_answers_with_it(client):
    response = client.get("/api/v1/topics/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert type(response.accepted_renderer) is JSONRenderer
