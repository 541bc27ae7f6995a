"""Which channels someone can use from their country: one rule for /nearest/ contacts and SMS."""

from collections.abc import Iterator
from typing import Any

import phonenumbers
import pytest
from django.db import connection

from directory.models import ChannelKind, ContactChannel, Coverage
from directory.phones import DIALLED_KINDS, reachable_by_parsing, reachable_from
from directory.search import contacts
from directory.search.contacts import contacts_for
from directory.seed import read_curated, seed_plans, seed_rows
from tests import builders


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


def _by_public_functions(value: str, caller: str) -> bool:
    """The E.164 rule written with libphonenumber's public functions only."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return False
    if caller in phonenumbers.region_codes_for_country_code(number.country_code or 0):
        return True
    return phonenumbers.can_be_internationally_dialled(number) and phonenumbers.number_type(number) not in {
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.SHARED_COST,
    }


def _example_numbers() -> set[str]:
    """libphonenumber's example number of every type in every region and non-geographic calling code."""
    found = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in phonenumbers.PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                found.add(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            found.add(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    return found


def test_parsing_once_gives_what_the_public_functions_give_for_every_kind_of_number():
    plans = seed_plans(seed_rows(), read_curated())
    values = _example_numbers() | {c.value for plan in plans for c in plan.channels if c.value.startswith("+")}
    # Beside the examples: numbers of shared calling codes no pattern knows, or too short or long.
    values |= {"+18005550100", "+1809555", "+12125550100999", "+79001234567", "+76001234567", "+999123456789"}
    assert len(values) > 1000
    for value in sorted(values):
        for caller in ("GB", "US", "IN", "AU", "ZZ"):
            assert reachable_by_parsing(value, caller) is _by_public_functions(value, caller), (value, caller)


@pytest.mark.django_db
def test_contacts_read_the_listings_countries_only_for_numbers_dialled_as_written():
    listing = builders.service("Two Countries Line", country="GB", phone="+448088005000", sms="116123")
    Coverage.objects.create(service=listing, scope="country", country="IE")
    ContactChannel.objects.create(service=listing, kind=ChannelKind.WEBSITE, value="https://example.org", position=2)
    ContactChannel.objects.create(service=listing, kind=ChannelKind.PHONE, value="+442038798560", position=3)
    other = builders.service("One Country Line", country="DE", sms="116123")

    def values(caller: str) -> dict[int, list[str]]:
        return {key: [c.value for c in found] for key, found in contacts_for([listing.pk, other.pk], caller).items()}

    # Each channel once, primary phone first; the short code only where a listing serves.
    assert values("IE") == {listing.pk: ["116123", "https://example.org", "+442038798560"], other.pk: []}
    assert values("GB") == {
        listing.pk: ["+448088005000", "116123", "https://example.org", "+442038798560"],
        other.pk: [],
    }
    assert values("DE") == {listing.pk: ["https://example.org", "+442038798560"], other.pk: ["116123"]}
    assert values("") == {
        listing.pk: ["+448088005000", "116123", "https://example.org", "+442038798560"],
        other.pk: ["116123"],
    }


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _plan_nodes(child)


@pytest.mark.django_db
def test_the_contacts_query_reads_no_coverage_for_numbers_in_e164():
    if connection.vendor != "postgresql":
        pytest.skip("what each plan node read is PostgreSQL's EXPLAIN (BUFFERS)")
    international = builders.service("International Line", country="GB", phone="+448088005000")
    ContactChannel.objects.create(service=international, kind=ChannelKind.WEBSITE, value="https://example.org")
    national = builders.service("Short Code Line", country="DE", sms="116123")

    def coverage_blocks(service_id: int) -> int:
        """Index blocks the coverage lookups of the contacts query for ``service_id`` touched."""
        with connection.cursor() as cursor:
            # As on a large table: nested loops over the indexes, not a scan of the few test rows.
            for setting in ("enable_seqscan", "enable_hashjoin", "enable_mergejoin", "enable_bitmapscan"):
                cursor.execute(f"SET LOCAL {setting} = off")
            cursor.execute(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + contacts._QUERY.format(ids="%s"),
                [*DIALLED_KINDS, contacts._E164_PATTERN, service_id],
            )
            (plan,) = cursor.fetchone()[0]
        found = [node for node in _plan_nodes(plan["Plan"]) if node.get("Relation Name") == "directory_coverage"]
        assert found, plan
        return sum(node["Shared Hit Blocks"] + node["Shared Read Blocks"] for node in found)

    assert coverage_blocks(international.pk) == 0
    assert coverage_blocks(national.pk) > 0
