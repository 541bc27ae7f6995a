"""Which channels someone can use from their country: one rule for /nearest/ contacts and SMS."""

import phonenumbers
import pytest

from directory.phones import reachable_by_parsing, reachable_from
from directory.seed import read_curated, seed_plans, seed_rows


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


def test_reading_only_the_calling_code_gives_what_parsing_the_whole_number_gives():
    plans = seed_plans(seed_rows(), read_curated())
    values = {channel.value for plan in plans for channel in plan.channels if channel.value.startswith("+")}
    values |= {"+1", "+999123456789", "+0123456789", "+44 20 3879 8560", "+4420387985601234567", "+٤٤٢٠٣٨٧٩٨٥٦٠"}
    assert len(values) > 60
    callers = sorted({*phonenumbers.SUPPORTED_REGIONS} & {"AU", "CA", "DE", "FR", "GB", "IE", "IN", "NZ", "US", "JP"})
    for value in sorted(values):
        for caller in callers:
            assert reachable_from("phone", value, (), caller) is reachable_by_parsing(value, caller), (value, caller)
