"""Weekly opening hours: is a service open at a moment, and a short human summary (pure)."""

from dataclasses import dataclass
from datetime import datetime, time
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from directory.models import Schedule


class Interval(NamedTuple):
    """Open on ``weekday`` (0 = Monday) from ``opens``; ``closes <= opens`` runs past midnight."""

    weekday: int
    opens: time
    closes: time


@dataclass(frozen=True)
class WeeklyHours:
    timezone: str
    always_open: bool = False
    intervals: tuple[Interval, ...] = ()


def is_open(schedule: WeeklyHours, at: datetime) -> bool:
    """Tell whether ``schedule`` is open at the aware datetime ``at``, by the wall clock of its time zone.

    Comparing local wall-clock times keeps "09:00-17:00" right on both sides of a DST change.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("is_open needs an aware datetime")
    if schedule.always_open:
        return True
    local = at.astimezone(ZoneInfo(schedule.timezone))
    weekday, now = local.weekday(), local.time().replace(tzinfo=None)
    for interval in schedule.intervals:
        if interval.closes > interval.opens:
            if interval.weekday == weekday and interval.opens <= now < interval.closes:
                return True
        elif (interval.weekday == weekday and now >= interval.opens) or (
            (interval.weekday + 1) % 7 == weekday and now < interval.closes
        ):
            return True
    return False


def weekly_hours_from_schedule(schedule: "Schedule") -> WeeklyHours:
    """Build the pure value from a ``Schedule`` (uses prefetched ``intervals`` when there are any)."""
    intervals = sorted(
        Interval(interval.weekday, interval.opens, interval.closes) for interval in schedule.intervals.all()
    )
    return WeeklyHours(timezone=schedule.timezone, always_open=schedule.always_open, intervals=tuple(intervals))


_DAY_NAMES = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "fr": ("lun", "mar", "mer", "jeu", "ven", "sam", "dim"),
    "es": ("lun", "mar", "mié", "jue", "vie", "sáb", "dom"),
    "de": ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"),
}
_EVERY_DAY = {"en": "Daily", "fr": "Tous les jours", "es": "Todos los días", "de": "Täglich"}
_MIDNIGHT = time(0)


def describe(hours: WeeklyHours, language: str) -> str:
    """Summarise the week: "24/7", "Mon-Fri 10:00-16:00; Sat 10:00-14:00"; "" when no hours are known."""
    if hours.always_open or _open_around_the_clock(hours.intervals):
        return "24/7"
    days = _DAY_NAMES.get(language, _DAY_NAMES["en"])
    by_day = [tuple(sorted((i.opens, i.closes) for i in hours.intervals if i.weekday == day)) for day in range(7)]
    parts = []
    day = 0
    while day < 7:
        last = day
        while last + 1 < 7 and by_day[last + 1] == by_day[day]:
            last += 1
        if by_day[day]:
            times = ", ".join(f"{opens:%H:%M}-{closes:%H:%M}" for opens, closes in by_day[day])
            if day == 0 and last == 6:
                label = _EVERY_DAY.get(language, _EVERY_DAY["en"])
            else:
                label = days[day] if day == last else f"{days[day]}-{days[last]}"
            parts.append(f"{label} {times}")
        day = last + 1
    return "; ".join(parts)


def _open_around_the_clock(intervals: tuple[Interval, ...]) -> bool:
    return {i.weekday for i in intervals if i.opens == i.closes == _MIDNIGHT} == set(range(7))


DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def parse_weekly(text: str) -> list[Interval]:
    """Read hours written as ``Mon-Fri 09:00-17:00; Sat 10:00-14:00`` (closing at or before opening: overnight)."""
    intervals: list[Interval] = []
    for part in (p.strip() for p in text.replace("\n", ";").split(";")):
        if not part:
            continue
        try:
            days, span = part.split()
            opens, closes = (time.fromisoformat(clock) for clock in span.split("-"))
            first, _, last = days.partition("-")
            start, end = DAY_NAMES.index(first.title()), DAY_NAMES.index((last or first).title())
        except ValueError as error:
            raise ValueError(f"{part!r}: write days and hours like 'Mon-Fri 09:00-17:00'.") from error
        if end < start:
            raise ValueError(f"{part!r}: days run Mon to Sun.")
        intervals.extend(Interval(day, opens, closes) for day in range(start, end + 1))
    return sorted(intervals)


def format_weekly(intervals: tuple[Interval, ...] | list[Interval]) -> str:
    """The inverse of ``parse_weekly``, one day per entry."""
    return "; ".join(f"{DAY_NAMES[i.weekday]} {i.opens:%H:%M}-{i.closes:%H:%M}" for i in sorted(intervals))
