"""Opening hours: open-now in the schedule's own time zone across DST and midnight, and summaries."""

from datetime import UTC, datetime, time

import pytest

from directory.hours import Interval, WeeklyHours, describe, is_open, weekly_hours_from_schedule

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def weekdays(opens: str, closes: str, days: range | tuple[int, ...] = range(MON, SAT)) -> tuple[Interval, ...]:
    return tuple(Interval(day, time.fromisoformat(opens), time.fromisoformat(closes)) for day in days)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


TORONTO_SUNDAYS_9_TO_17 = WeeklyHours("America/Toronto", intervals=weekdays("09:00", "17:00", (SUN,)))
LONDON_SUNDAYS_9_TO_17 = WeeklyHours("Europe/London", intervals=weekdays("09:00", "17:00", (SUN,)))
FRIDAY_NIGHTS = WeeklyHours("America/Regina", intervals=weekdays("22:00", "02:00", (FRI,)))


def test_a_24_7_schedule_is_always_open():
    assert is_open(WeeklyHours("America/Regina", always_open=True), utc("2026-01-01T03:00"))


def test_a_schedule_without_intervals_is_closed():
    assert not is_open(WeeklyHours("America/Regina"), utc("2026-01-05T18:00"))


def test_it_reads_the_clock_of_the_schedules_time_zone():
    hours = WeeklyHours("America/Regina", intervals=weekdays("10:00", "16:00"))

    # Monday 2026-01-05 15:30 UTC is 09:30 in Regina (UTC-6 all year): not yet open.
    assert not is_open(hours, utc("2026-01-05T15:30"))
    assert is_open(hours, utc("2026-01-05T16:30"))
    assert not is_open(hours, utc("2026-01-05T22:00"))


def test_the_closing_minute_is_closed_and_the_opening_minute_is_open():
    hours = WeeklyHours("UTC", intervals=weekdays("10:00", "16:00"))

    assert is_open(hours, utc("2026-01-05T10:00"))
    assert not is_open(hours, utc("2026-01-05T16:00"))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # Toronto springs forward on 2025-03-09: 13:30 UTC is 09:30 EDT (a fixed -5 offset would say 08:30).
        ("2025-03-09T13:30", True),
        ("2025-03-09T12:30", False),
        # The Sunday before, 13:30 UTC is 08:30 EST.
        ("2025-03-02T13:30", False),
        # Toronto falls back on 2025-11-02: 13:30 UTC is 08:30 EST (a fixed -4 offset would say 09:30).
        ("2025-11-02T13:30", False),
        ("2025-11-02T14:30", True),
        ("2025-11-02T21:30", True),
        ("2025-11-02T22:00", False),
    ],
)
def test_open_now_follows_torontos_dst_changes(moment, expected):
    assert is_open(TORONTO_SUNDAYS_9_TO_17, utc(moment)) is expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # London springs forward on 2025-03-30: 08:30 UTC is 09:30 BST.
        ("2025-03-30T08:30", True),
        ("2025-03-30T07:59", False),
        ("2025-03-23T08:30", False),
        # London falls back on 2025-10-26: 08:30 UTC is 08:30 GMT, 16:30 UTC is 16:30 GMT.
        ("2025-10-26T08:30", False),
        ("2025-10-26T09:00", True),
        ("2025-10-26T16:30", True),
        ("2025-10-19T16:30", False),
    ],
)
def test_open_now_follows_londons_dst_changes(moment, expected):
    assert is_open(LONDON_SUNDAYS_9_TO_17, utc(moment)) is expected


def test_an_interval_running_past_midnight_is_open_early_the_next_day():
    # Saturday 2026-01-10 01:30 in Regina is 07:30 UTC.
    assert is_open(FRIDAY_NIGHTS, utc("2026-01-10T07:30"))


@pytest.mark.parametrize(
    "moment",
    [
        "2026-01-10T08:00",  # Saturday 02:00, closing time
        "2026-01-09T03:30",  # Thursday night 21:30
        "2026-01-11T07:30",  # Sunday 01:30: the night belongs to Friday only
        "2026-01-09T07:30",  # Friday 01:30, after Thursday night, which is closed
    ],
)
def test_an_interval_running_past_midnight_is_closed_outside_its_night(moment):
    assert not is_open(FRIDAY_NIGHTS, utc(moment))


def test_a_sunday_night_interval_wraps_into_monday():
    hours = WeeklyHours("UTC", intervals=weekdays("20:00", "04:00", (SUN,)))

    assert is_open(hours, utc("2026-01-12T03:59"))  # Monday
    assert not is_open(hours, utc("2026-01-13T03:59"))  # Tuesday


def test_an_overnight_interval_across_londons_fall_back_night_stays_open_both_one_thirties():
    hours = WeeklyHours("Europe/London", intervals=weekdays("22:00", "02:00", (SAT,)))

    assert is_open(hours, utc("2025-10-26T00:30"))  # 01:30 BST
    assert is_open(hours, utc("2025-10-26T01:30"))  # 01:30 GMT
    assert not is_open(hours, utc("2025-10-26T02:00"))  # 02:00 GMT


def test_opens_equal_to_closes_means_the_whole_day():
    hours = WeeklyHours("UTC", intervals=weekdays("00:00", "00:00", (MON,)))

    assert is_open(hours, utc("2026-01-05T00:00"))
    assert is_open(hours, utc("2026-01-05T23:59"))
    assert not is_open(hours, utc("2026-01-06T00:00"))


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="aware"):
        is_open(WeeklyHours("UTC", always_open=True), datetime(2026, 1, 5, 12))


@pytest.mark.parametrize(
    ("hours", "language", "summary"),
    [
        (WeeklyHours("UTC", always_open=True), "en", "24/7"),
        (WeeklyHours("UTC", intervals=weekdays("00:00", "00:00", range(7))), "fr", "24/7"),
        (WeeklyHours("UTC", intervals=weekdays("10:00", "16:00")), "en", "Mon-Fri 10:00-16:00"),
        (WeeklyHours("UTC", intervals=weekdays("10:00", "16:00")), "fr", "lun-ven 10:00-16:00"),
        (WeeklyHours("UTC", intervals=weekdays("10:00", "16:00")), "es", "lun-vie 10:00-16:00"),
        (WeeklyHours("UTC", intervals=weekdays("10:00", "16:00")), "de", "Mo-Fr 10:00-16:00"),
        (WeeklyHours("UTC", intervals=weekdays("10:00", "16:00")), "it", "Mon-Fri 10:00-16:00"),
        (
            WeeklyHours("UTC", intervals=weekdays("09:00", "17:00") + weekdays("10:00", "14:00", (SAT,))),
            "en",
            "Mon-Fri 09:00-17:00; Sat 10:00-14:00",
        ),
        (
            WeeklyHours("UTC", intervals=weekdays("13:00", "17:00", (MON,)) + weekdays("09:00", "12:00", (MON,))),
            "en",
            "Mon 09:00-12:00, 13:00-17:00",
        ),
        (WeeklyHours("UTC", intervals=weekdays("18:00", "23:00", range(7))), "es", "Todos los días 18:00-23:00"),
        (WeeklyHours("UTC", intervals=weekdays("22:00", "02:00", (FRI, SAT))), "fr", "ven-sam 22:00-02:00"),
        (
            WeeklyHours("UTC", intervals=weekdays("10:00", "12:00", (MON, WED))),
            "en",
            "Mon 10:00-12:00; Wed 10:00-12:00",
        ),
        (WeeklyHours("UTC"), "en", ""),
    ],
)
def test_it_summarises_the_week(hours, language, summary):
    assert describe(hours, language) == summary


@pytest.mark.django_db
def test_it_reads_a_schedule_from_the_database():
    from directory.models import Organization, Schedule, Service

    organization = Organization.objects.create(name="Example Helpline Trust", kind="ngo")
    service = Service.objects.create(organization=organization, kind="helpline", name="Example Line")
    schedule = Schedule.objects.create(service=service, timezone="America/Toronto")
    schedule.intervals.create(weekday=FRI, opens=time(22), closes=time(2))
    schedule.intervals.create(weekday=MON, opens=time(9), closes=time(17))

    hours = weekly_hours_from_schedule(schedule)

    assert hours == WeeklyHours(
        "America/Toronto",
        always_open=False,
        intervals=(Interval(MON, time(9), time(17)), Interval(FRI, time(22), time(2))),
    )
    assert describe(hours, "en") == "Mon 09:00-17:00; Fri 22:00-02:00"
