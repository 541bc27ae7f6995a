"""Emergency numbers: the one to show first in each country, the others that work, 112 elsewhere."""

import pytest

from directory.emergency import EMERGENCY_NUMBERS, emergency_number, emergency_numbers
from directory.geocoding import SUPPORTED_COUNTRIES


@pytest.mark.parametrize(
    ("country", "number"),
    [
        ("CA", "911"),
        ("US", "911"),
        ("GB", "999"),
        ("IE", "112"),
        ("AU", "000"),
        ("NZ", "111"),
        ("DE", "112"),
        ("FR", "112"),
        ("IN", "112"),
    ],
)
def test_it_gives_the_countrys_emergency_number(country, number):
    assert emergency_number(country) == number


@pytest.mark.parametrize("country", ["ca", " gb "])
def test_the_country_code_is_read_whatever_its_case_and_spacing(country):
    assert emergency_number(country) == EMERGENCY_NUMBERS[country.strip().upper()].primary


@pytest.mark.parametrize("country", ["ES", "ZZ", "", "not a country"])
def test_an_unknown_country_falls_back_to_112(country):
    assert emergency_number(country) == "112"


@pytest.mark.parametrize(
    ("country", "alternate"),
    [("IE", "999"), ("GB", "112"), ("DE", "110"), ("FR", "17"), ("FR", "15")],
)
def test_it_knows_the_other_numbers_that_work(country, alternate):
    assert alternate in [number for number, _ in emergency_numbers(country).alternates]


def test_every_alternate_says_what_it_reaches():
    assert all(label for numbers in EMERGENCY_NUMBERS.values() for _, label in numbers.alternates)


def test_every_supported_postcode_country_has_its_own_emergency_number():
    assert set(SUPPORTED_COUNTRIES) <= set(EMERGENCY_NUMBERS)
