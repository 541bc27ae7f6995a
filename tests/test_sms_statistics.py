"""Daily SMS statistics are counted in the cache and reach the database in batches, never lowered."""

from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sms import service
from sms.models import DailyStat
from sms.service import flush_statistics, handle_inbound
from tests.test_sms_webhook import TEXTER, build_listings

pytestmark = pytest.mark.django_db


def test_messages_between_flushes_are_counted_in_the_cache_without_writing_to_the_database(settings):
    settings.SMS_STATS_FLUSH_SECONDS = 60
    build_listings()
    handle_inbound(TEXTER, "HELP S4P 3Y2", "SM" + "1" * 32)
    assert DailyStat.objects.get(keyword="HELP").count == 1
    with CaptureQueriesContext(connection) as queries:
        handle_inbound(TEXTER, "HELP S4P 3Y2", "SM" + "2" * 32)
        handle_inbound("+13065550177", "HELP S4P 3Y2", "SM" + "3" * 32)
    assert not [q for q in queries.captured_queries if "sms_dailystat" in q["sql"]]
    assert DailyStat.objects.get(keyword="HELP").count == 1
    assert flush_statistics() == 1
    assert DailyStat.objects.get(keyword="HELP").count == 3


def test_a_flush_never_lowers_a_count_another_node_wrote():
    build_listings()
    handle_inbound(TEXTER, "HELP S4P 3Y2", "SM" + "4" * 32)
    DailyStat.objects.filter(keyword="HELP").update(count=40)
    flush_statistics()
    assert DailyStat.objects.get(keyword="HELP").count == 40


def test_the_last_messages_of_a_day_reach_its_statistics_after_midnight(settings, monkeypatch):
    settings.SMS_STATS_FLUSH_SECONDS = 60
    build_listings()
    clock = {"now": datetime(2026, 12, 1, 23, 59, 0, tzinfo=UTC)}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])
    handle_inbound(TEXTER, "HELP S4P 3Y2", "SM" + "5" * 32)  # flushed at once: the first of the minute
    clock["now"] = datetime(2026, 12, 1, 23, 59, 40, tzinfo=UTC)
    handle_inbound(TEXTER, "HELP S4P 3Y2", "SM" + "6" * 32)  # counted in the cache only
    assert DailyStat.objects.get(date="2026-12-01", keyword="HELP").count == 1
    clock["now"] = datetime(2026, 12, 2, 0, 0, 30, tzinfo=UTC)
    handle_inbound("+13065550177", "HELP S4P 3Y2", "SM" + "7" * 32)
    assert DailyStat.objects.get(date="2026-12-01", keyword="HELP").count == 2
    assert DailyStat.objects.get(date="2026-12-02", keyword="HELP").count == 1


def test_a_flush_writes_new_kinds_together_and_raises_only_the_grown_ones(settings):
    settings.SMS_STATS_FLUSH_SECONDS = 60
    build_listings()
    for number, body in enumerate(["HELP S4P 3Y2", "AIDE H2X 1Y4", "HELP", "HELP S4P 3Y2"]):
        handle_inbound(TEXTER, body, f"SM{number:032}")
    flush_statistics()
    before = {(row.keyword, row.postcode_prefix): row.count for row in DailyStat.objects.all()}
    DailyStat.objects.filter(keyword="AIDE").update(count=7)
    handle_inbound(TEXTER, "HELP S4P 3Y2", "SM" + "9" * 32)
    assert flush_statistics() == 1  # the one kind counted since
    after = {(row.keyword, row.postcode_prefix): row.count for row in DailyStat.objects.all()}
    assert after[("AIDE", "H2X")] == 7  # higher in the database: kept
    assert after[("HELP", "S4P")] == before[("HELP", "S4P")] + 1
    assert sum(after.values()) == sum(before.values()) - before[("AIDE", "H2X")] + 7 + 1


def test_a_flush_copies_only_the_kinds_counted_since_the_last_one(settings):
    settings.SMS_STATS_FLUSH_SECONDS = 60
    build_listings()
    for number, body in enumerate(["HELP S4P 3Y2", "AIDE H2X 1Y4", "HELP", "INFO"]):
        handle_inbound(TEXTER, body, f"SM{number:032}")
    assert flush_statistics() == 3  # the first message flushed its own kind at once
    assert flush_statistics() == 0
    handle_inbound(TEXTER, "AIDE H2X 1Y4", "SM" + "8" * 32)
    with CaptureQueriesContext(connection) as queries:
        assert flush_statistics() == 1
    assert len([q for q in queries.captured_queries if "sms_dailystat" in q["sql"]]) == 1
    assert DailyStat.objects.get(keyword="AIDE").count == 2
    assert sum(row.count for row in DailyStat.objects.all()) == 5


def test_a_failed_flush_neither_spoils_the_reply_nor_loses_the_counts(settings, monkeypatch):
    settings.SMS_STATS_FLUSH_SECONDS = 0  # every message flushes
    build_listings()
    expected = handle_inbound(TEXTER, "HELP S4P 3Y2", "SM" + "a" * 32).text
    stored = service._store_statistics

    def failing(*args: object) -> None:
        raise DatabaseError("database gone")

    monkeypatch.setattr(service, "_store_statistics", failing)
    reply = handle_inbound("+13065550177", "HELP S4P 3Y2", "SM" + "b" * 32)
    assert reply.text == expected  # the search's answer, not the fallback
    assert DailyStat.objects.get(keyword="HELP").count == 1
    monkeypatch.setattr(service, "_store_statistics", stored)
    assert flush_statistics() == 1  # given back to the next flush
    assert DailyStat.objects.get(keyword="HELP").count == 2
