"""Answer one inbound text message: the code path shared by the Twilio webhook and the simulators.

Privacy rules kept here: the sender is known only by a keyed hash of their number, the message body
is never stored or logged, and conversation state expires after ``SMS_STATE_TTL_HOURS``.
"""

import hashlib
import hmac
import logging
import traceback
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Field
from django.db.models.functions import Greatest
from django.utils import timezone

from directory import errors
from directory.emergency import emergency_number, police_number
from directory.geocoding import Place as GeoPlace
from directory.geocoding import resolve_place
from directory.hours import describe, weekly_hours_from_schedule
from directory.models import Service
from directory.search import Contact, HelpAnswer, HelpQuery, HelpResult, contacts_for, find_help
from directory.throttling import DAY, add_to_counters
from sms.models import Conversation, DailyStat, DeliveryStatus, OptOut
from sms.parsing import Action, Intent, country_for_number, default_language, normalize_number, parse_message
from sms.replies import (
    Channel,
    Listing,
    Place,
    Reply,
    SearchView,
    choose_language,
    detail_reply,
    help_reply,
    line_index,
    notice_reply,
    search_reply,
)
from sms.topics import topic_tables

logger = logging.getLogger(__name__)

SEARCH_LIMIT = 12
_LOCK_SECONDS = 30
_REPLY_SECONDS = 6 * 3600

# Twilio's message statuses; anything else in a callback is not recorded.
DELIVERY_STATUSES = frozenset(
    {
        "accepted",
        "scheduled",
        "canceled",
        "queued",
        "sending",
        "sent",
        "failed",
        "delivered",
        "undelivered",
        "receiving",
        "received",
        "read",
        "partially_delivered",
    }
)

# How much of a postcode statistics keep: an area of tens of thousands of people, never a street.
_PREFIX_LENGTHS = {"CA": 3, "GB": 4, "IE": 3, "US": 3, "IN": 3, "DE": 2, "FR": 2, "AU": 2, "NZ": 2}


@dataclass(frozen=True)
class _Sender:
    hash: str
    country: str


def keyed_hash(value: str) -> str:
    """Return the HMAC-SHA256 of ``value`` under ``SMS_HASH_KEY``: how senders and message ids are kept."""
    key = settings.SMS_HASH_KEY.encode()
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def postcode_prefix(country: str, postcode: str) -> str:
    """Keep only the coarse area of a postcode (FSA, outward code, ZIP3, département ...)."""
    return postcode[: _PREFIX_LENGTHS.get(country, 2)] if postcode else ""


def handle_inbound(sender: str, body: str, message_sid: str, *, simulated: bool = False) -> Reply:
    """Answer a text; the same ``message_sid`` always gets the same reply and is processed once.

    ``simulated`` keeps a simulator's conversation apart from the real texter's with the same
    number, and out of the statistics.
    """
    reply_key = f"sms:reply:{keyed_hash('sid:' + message_sid)}" if message_sid else ""
    if reply_key:
        cached = _cached_reply(reply_key)
        if cached is not None:
            return cached
        if not cache.add(f"{reply_key}:lock", 1, _LOCK_SECONDS):
            return _cached_reply(reply_key) or _in_flight_reply(_identify(sender, simulated=simulated))
    sender_info = _identify(sender, simulated=simulated)
    try:
        # No transaction around the whole answer: on SQLite it would hold the write lock during the search.
        reply = _answer(sender_info, body, simulated=simulated)
    except Exception as error:  # a texter must get a useful answer, never an error
        _log_failure(error)
        reply = _fallback_reply(sender_info.country, "")
    if reply_key:
        cache.set(reply_key, (reply.text, reply.language), _REPLY_SECONDS)
    return reply


def _cached_reply(key: str) -> Reply | None:
    cached = cache.get(key)
    if isinstance(cached, tuple) and len(cached) == 2:
        return Reply(str(cached[0]), str(cached[1]))
    return None


def _in_flight_reply(sender: _Sender) -> Reply:
    """Answer a retry whose first delivery is still being answered, at once: no worker waits for another.

    Twilio retries once it has given up on the first request, so that reply may never arrive: the
    texter gets the help text (what to send, the national line), or silence after STOP.
    """
    if sender.hash and OptOut.objects.filter(sender_hash=sender.hash).exists():
        return Reply("", default_language(sender.country))
    return _fallback_reply(sender.country, "")


def _log_failure(error: BaseException) -> None:
    # The message of an exception may quote the text or the number: log where it happened, not what.
    frames = "".join(traceback.format_tb(error.__traceback__))
    logger.error("SMS answer failed with %s at\n%s", type(error).__name__, frames)


def _fallback_reply(country: str, language: str) -> Reply:
    language = choose_language(language, default_language(country))
    try:
        emergency = emergency_number(country) if country else ""
    except Exception:  # the fallback itself must not fail
        emergency = ""
    return Reply(help_reply(language, country=country, line=None, emergency=emergency), language)


def _identify(sender: str, *, simulated: bool) -> _Sender:
    number = normalize_number(sender) if sender.strip() else ""
    if not number:
        return _Sender("", "")
    namespace = "simulator:" if simulated else "sender:"
    return _Sender(keyed_hash(namespace + number), country_for_number(number))


def _answer(sender: _Sender, body: str, *, simulated: bool) -> Reply:
    tables = topic_tables()
    intent = parse_message(body, sender.country, tables.keywords)
    conversation = _conversation(sender.hash)
    country = intent.country or (conversation.country if conversation else "") or sender.country
    language = choose_language(
        intent.language, conversation.language if conversation else None, default_language(country)
    )
    opted_out = bool(sender.hash) and OptOut.objects.filter(sender_hash=sender.hash).exists()

    if intent.action == Action.OPT_IN and opted_out:
        OptOut.objects.filter(sender_hash=sender.hash).delete()
        return _record(intent, language, country, simulated, notice_reply("opted_in", language, country=country))
    if opted_out:
        return Reply("", language)
    if intent.action == Action.OPT_OUT:
        if sender.hash:
            OptOut.objects.get_or_create(sender_hash=sender.hash)
            Conversation.objects.filter(sender_hash=sender.hash).delete()
        return _record(intent, language, country, simulated, notice_reply("opted_out", language))

    allowance = _rate_allowance(sender.hash)
    if allowance == "silent":
        return Reply("", language)
    if allowance == "warn":
        emergency = _emergency(country, conversation)
        text = notice_reply("rate_limited", language, emergency=emergency)
        return _record(Intent(Action.HELP, keyword="RATE_LIMITED"), language, country, simulated, text)

    if intent.action == Action.SEARCH:
        text, result_count = _search(sender, intent, language, tables.advice_for(intent.topic, language))
        return _record(intent, language, country, simulated, text, result_count)
    if intent.action == Action.MORE and conversation and conversation.result_ids:
        return _record(intent, language, country, simulated, _more(conversation, language))
    if intent.action == Action.DETAIL and conversation and conversation.result_ids:
        return _record(intent, language, country, simulated, _detail(conversation, language, intent.number or 0))
    if intent.action == Action.LANGUAGE:
        _remember_language(sender.hash, conversation, language, country)
        emergency = _emergency(country, conversation)
        follow_up = bool(conversation and conversation.result_ids)
        text = notice_reply("language", language, country=country, emergency=emergency, follow_up=follow_up)
        return _record(intent, language, country, simulated, text)
    if intent.action in (Action.MORE, Action.DETAIL):
        text = notice_reply("expired", language, country=country, emergency=_emergency(country, conversation))
        return _record(intent, language, country, simulated, text)
    # Bare HELP / INFO, or START from someone who never stopped.
    return _record(intent, language, country, simulated, _help(country, language))


def _conversation(sender_hash: str) -> Conversation | None:
    if not sender_hash:
        return None
    return Conversation.objects.filter(sender_hash=sender_hash, expires_at__gt=timezone.now()).first()


def _rate_allowance(sender_hash: str) -> str:
    """Return "ok", "warn" for the first message over the limit, then "silent" until the window ends."""
    if not sender_hash:
        return "ok"
    key = f"sms:rate:{sender_hash}"
    cache.add(key, 0, settings.SMS_RATE_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:
        # The window ended between add() and incr(): this message opens a new one.
        cache.set(key, 1, settings.SMS_RATE_WINDOW_SECONDS)
        count = 1
    if count <= settings.SMS_RATE_LIMIT:
        return "ok"
    return "warn" if count == settings.SMS_RATE_LIMIT + 1 else "silent"


def _emergency(country: str, conversation: Conversation | None) -> str:
    if conversation and conversation.emergency_number and conversation.country == country:
        return conversation.emergency_number
    return emergency_number(country) if country else ""


def _channels(contacts: tuple[Contact, ...]) -> tuple[Channel, ...]:
    return tuple(Channel(contact.kind, contact.display, contact.sms_keyword, contact.label) for contact in contacts)


def _listing(result: HelpResult) -> Listing:
    return Listing(result.name, _channels(result.contacts), result.always_open, kind=result.kind)


def _find(query: HelpQuery) -> HelpAnswer:
    # Without a country there is no national line or emergency number to look for.
    return find_help(query) if query.country else HelpAnswer(country="", emergency_number="")


def _national(country: str, language: str) -> HelpAnswer:
    return _find(HelpQuery(country=country, language=language, limit=SEARCH_LIMIT))


def _help(country: str, language: str) -> str:
    answer = _national(country, language)
    listings = [_listing(result) for result in answer.results]
    line = line_index(listings)
    return help_reply(
        language,
        country=country,
        line=listings[line] if line is not None else None,
        emergency=answer.emergency_number,
        police=police_number(country) if country else "",
    )


def _place(intent: Intent) -> GeoPlace | None:
    """The postcode's place by the API's rule; a postcode it cannot place gets the national answer."""
    if not intent.postcode:
        return None
    try:
        return resolve_place(postcode=intent.postcode, country=intent.country)
    except (errors.InvalidPlace, errors.PostcodeNotFound):
        return None


def _search(sender: _Sender, intent: Intent, language: str, advice: str) -> tuple[str, int]:
    place = _place(intent)
    if place is not None:
        query = HelpQuery(
            country=place.country,
            latitude=place.latitude,
            longitude=place.longitude,
            subdivision=place.subdivision,
            county=place.county,
            topic=intent.topic,
            language=language,
            limit=SEARCH_LIMIT,
        )
        status = Place.FOUND
    else:
        query = HelpQuery(country=intent.country, topic=intent.topic, language=language, limit=SEARCH_LIMIT)
        status = Place.UNKNOWN_POSTCODE if intent.postcode else Place.NO_POSTCODE
    answer = _find(query)
    # A listing with no phone, text line or link is of no use to someone reading a text message.
    results = _callable_first([result for result in answer.results if result.contacts])
    view = SearchView(
        language=language,
        results=tuple(_listing(result) for result in results),
        country=query.country,
        emergency=answer.emergency_number,
        police=police_number(query.country) if query.country else "",
        danger=intent.danger,
        advice=advice,
        place=status,
    )
    composed = search_reply(view)
    if sender.hash:
        _save_conversation(
            sender.hash,
            language=language,
            country=query.country,
            topic=intent.topic,
            result_ids=[result.service_id for result in results],
            next_index=composed.consumed,
            emergency_number=answer.emergency_number,
        )
    return composed.text, len(results)


def _callable_first(results: list[HelpResult]) -> list[HelpResult]:
    """Put listings someone can call or text before those reachable only online (a basic phone has no
    browser), keeping the ranking within each group and the results that match the topic first."""

    def online_only(result: HelpResult) -> bool:
        return not any(contact.kind in ("phone", "sms") for contact in result.contacts)

    return sorted(results, key=lambda result: (not result.topic_match, online_only(result)))


def _stored_listings(ids: list[int], language: str, country: str) -> list[Listing]:
    services = Service.objects.filter(id__in=ids, archived_at__isnull=True).prefetch_related("schedules__intervals")
    found = services.in_bulk()
    contacts = contacts_for(list(found), country)
    return [
        _stored_listing(found[service_id], contacts.get(service_id, ()), language)
        for service_id in ids
        if service_id in found
    ]


def _stored_listing(service: Service, contacts: tuple[Contact, ...], language: str) -> Listing:
    channels = _channels(contacts)
    schedule = next((s for s in service.schedules.all() if s.channel_id is None), None)
    hours = describe(weekly_hours_from_schedule(schedule), language) if schedule else ""
    return Listing(
        name=service.localized("name", language),
        channels=channels,
        always_open=hours == "24/7",
        description=service.localized("description", language),
        hours=hours or service.hours_note,
        kind=service.kind,
    )


def _result_ids(conversation: Conversation) -> list[int]:
    ids = conversation.result_ids if isinstance(conversation.result_ids, list) else []
    return [value for value in ids if isinstance(value, int)]


def _more(conversation: Conversation, language: str) -> str:
    listings = tuple(_stored_listings(_result_ids(conversation), language, conversation.country))
    view = SearchView(
        language=language,
        results=listings,
        start=min(conversation.next_index, len(listings)),
        country=conversation.country,
        emergency=conversation.emergency_number,
        police=police_number(conversation.country) if conversation.country else "",
    )
    composed = search_reply(view)
    conversation.next_index = view.start + composed.consumed
    conversation.language = language
    conversation.expires_at = _expiry()
    conversation.save(update_fields=["next_index", "language", "expires_at"])
    return composed.text


def _detail(conversation: Conversation, language: str, number: int) -> str:
    listings = _stored_listings(_result_ids(conversation), language, conversation.country)
    if not 1 <= number <= len(listings):
        return notice_reply("pick", language, emergency=conversation.emergency_number, count=len(listings))
    conversation.expires_at = _expiry()
    conversation.save(update_fields=["expires_at"])
    return detail_reply(language, number, listings[number - 1])


def _remember_language(sender_hash: str, conversation: Conversation | None, language: str, country: str) -> None:
    if not sender_hash:
        return
    if conversation is None:
        _save_conversation(sender_hash, language=language, country=country)
        return
    conversation.language = language
    conversation.expires_at = _expiry()
    conversation.save(update_fields=["language", "expires_at"])


def _expiry() -> datetime:
    return timezone.now() + timedelta(hours=settings.SMS_STATE_TTL_HOURS)


def _save_conversation(sender_hash: str, **state: object) -> None:
    defaults = {
        "language": "",
        "country": "",
        "topic": "",
        "result_ids": [],
        "next_index": 0,
        "emergency_number": "",
        **state,
        "expires_at": _expiry(),
    }
    # One statement (INSERT ... ON CONFLICT DO UPDATE): a texter's two messages cannot race to create it.
    # Sent on its own, outside a transaction (bulk_create's BEGIN and COMMIT are two more round trips).
    values = {"sender_hash": sender_hash, **defaults}
    fields = [cast("Field[Any, Any]", Conversation._meta.get_field(name)) for name in values]
    quote = connection.ops.quote_name
    columns = [quote(str(field.column)) for field in fields]
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in columns[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(Conversation._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608 - names only
            f"VALUES ({', '.join(['%s'] * len(columns))}) ON CONFLICT ({columns[0]}) DO UPDATE SET {updates}",
            [field.get_db_prep_save(values[field.name], connection) for field in fields],
        )


def _record(intent: Intent, language: str, country: str, simulated: bool, text: str, result_count: int = 0) -> Reply:
    logger.info("SMS %s keyword=%s country=%s results=%d", intent.action, intent.keyword or "-", country, result_count)
    if not simulated:
        _count_message(
            keyword=intent.keyword[:40],
            topic=intent.topic,
            language=language,
            country=country,
            postcode_prefix=postcode_prefix(intent.country, intent.postcode),
            result_count=min(result_count, 32767),
        )
    return Reply(text, language)


# Daily statistics are counted in the shared cache (one round trip per message) and copied to ``DailyStat``
# at most every ``SMS_STATS_FLUSH_SECONDS`` by whichever message comes; counters live two days.
_STATS_SECONDS = 2 * DAY
_DIMENSIONS = ("keyword", "topic", "language", "country", "postcode_prefix", "result_count")
# Flushes this early in a day copy the day before too: its last messages came after its last flush.
_YESTERDAY_OPEN = timedelta(minutes=15)


def _stat_key(day: date, *parts: object) -> str:
    return ":".join(("sms:stat", day.isoformat(), *map(str, parts)))


def _count_message(**dimensions: object) -> None:
    now = timezone.now()
    today = now.date()
    values = tuple(dimensions[name] for name in _DIMENSIONS)
    digest = hashlib.sha256(repr(values).encode()).hexdigest()[:32]
    if cache.add(_stat_key(today, "dimensions", digest), values, _STATS_SECONDS):
        # First of its kind today: give it a number, so a flush can find every kind.
        (number,) = add_to_counters([(_stat_key(today, "kinds"), 1)], _STATS_SECONDS)
        cache.set(_stat_key(today, "kind", number), digest, _STATS_SECONDS)
    add_to_counters([(_stat_key(today, "count", digest), 1)], _STATS_SECONDS)
    if cache.add("sms:stat:flushed", 1, settings.SMS_STATS_FLUSH_SECONDS):
        if now - datetime.combine(today, time.min, tzinfo=now.tzinfo) < _YESTERDAY_OPEN:
            flush_statistics(today - timedelta(days=1))  # what came after yesterday's last flush
        flush_statistics(today)


def flush_statistics(day: date | None = None) -> int:
    """Copy the day's counters from the cache into ``DailyStat``, never lowering a count; return the rows written."""
    day = day or timezone.now().date()
    kinds = int(cache.get(_stat_key(day, "kinds")) or 0)
    digests = cache.get_many([_stat_key(day, "kind", number) for number in range(1, kinds + 1)]).values()
    dimensions = cache.get_many([_stat_key(day, "dimensions", digest) for digest in digests])
    counts = cache.get_many([_stat_key(day, "count", digest) for digest in digests])
    wanted: dict[tuple[object, ...], int] = {}
    for digest in digests:
        values, count = (
            dimensions.get(_stat_key(day, "dimensions", digest)),
            counts.get(_stat_key(day, "count", digest)),
        )
        if values is None or not count:
            continue
        wanted[tuple(values)] = int(count)
    if not wanted:
        return 0
    # The day's rows in one query; new kinds in one insert; only the rows whose count grew are updated.
    # (Row by row, a busy day's flush was thousands of statements, seconds inside one texter's request.)
    stored = {tuple(row[:-1]): row[-1] for row in DailyStat.objects.filter(date=day).values_list(*_DIMENSIONS, "count")}
    fresh = [values for values in wanted if values not in stored]
    if fresh:
        rows = [
            DailyStat(date=day, count=wanted[values], **dict(zip(_DIMENSIONS, values, strict=True))) for values in fresh
        ]
        try:
            with transaction.atomic():
                DailyStat.objects.bulk_create(rows)
        except IntegrityError:  # another node wrote some of them meanwhile: raise those to this count
            DailyStat.objects.bulk_create(rows, ignore_conflicts=True)
            stored.update({values: 0 for values in fresh})
    for values, count in wanted.items():
        if values in stored and stored[values] < count:
            fields = dict(zip(_DIMENSIONS, values, strict=True))
            DailyStat.objects.filter(date=day, **fields).update(count=Greatest("count", count))
    return len(wanted)


def record_delivery_status(message_sid: str, status: str, error_code: str = "") -> bool:
    """Record a status callback; return False when the status is not one of Twilio's."""
    status = status.strip().lower()
    if not message_sid or status not in DELIVERY_STATUSES:
        return False
    code = error_code.strip() if error_code.strip().isdigit() else ""
    DeliveryStatus.objects.create(
        message_sid_hash=keyed_hash("sid:" + message_sid), status=status, error_code=code[:10]
    )
    return True


def purge_expired_state(now: datetime | None = None) -> tuple[int, int]:
    """Delete expired conversations and old delivery statuses; return how many of each."""
    now = now or timezone.now()
    conversations, _ = Conversation.objects.filter(expires_at__lte=now).delete()
    cutoff = now - timedelta(days=settings.SMS_DELIVERY_STATUS_DAYS)
    statuses, _ = DeliveryStatus.objects.filter(recorded_at__lt=cutoff).delete()
    return conversations, statuses
