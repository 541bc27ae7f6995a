"""Which channels someone can use from their country: one rule for /nearest/ contacts and SMS."""

import pytest

from directory.phones import reachable_from


@pytest.mark.parametrize(
    ("kind", "value", "homes", "caller", "reachable"),
    [
        ("phone", "+18008435678", set(), "US", True),
        ("phone", "+18008435678", set(), "CA", True),
        ("phone", "+18008435678", set(), "DE", False),
        ("phone", "+448088005000", {"GB"}, "IE", False),
        ("phone", "+442038798560", {"GB"}, "IE", True),
        ("phone", "+498929104444", {"DE"}, "FR", True),
        ("phone", "116123", {"GB", "IE"}, "IE", True),
        ("phone", "116123", {"DE"}, "FR", False),
        ("sms", "686868", {"CA"}, "US", False),
        ("sms", "686868", {"CA"}, "CA", True),
        ("phone", "*4141", {"CA"}, "CA", True),
        ("website", "https://takeitdown.ncmec.org", set(), "IN", True),
        ("web_form", "https://report.example.org", {"GB"}, "NZ", True),
        ("phone", "+18008435678", set(), "", True),
    ],
)
def test_a_channel_is_reachable_only_where_its_number_can_be_dialled(kind, value, homes, caller, reachable):
    assert reachable_from(kind, value, homes, caller) is reachable


def test_a_short_code_of_a_worldwide_listing_is_reachable_nowhere():
    assert reachable_from("sms", "4282", set(), "NZ") is False
