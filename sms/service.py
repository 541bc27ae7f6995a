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
from django.db import connection
from django.db.models import Field, Model
from django.utils import timezone

from config.cache import counting_cache
from directory import errors
from directory.emergency import emergency_number, police_number
from directory.geocoding import Place as GeoPlace
from directory.geocoding import resolve_place
from directory.hours import describe, weekly_hours_from_schedule
from directory.models import Service
from directory.search import Contact, HelpAnswer, HelpQuery, HelpResult, contacts_for, find_help
from directory.throttling import DAY
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
_CLAIM_SECONDS = 30  # how long a delivery that never finished answering holds its MessageSid
_ANSWERING = "answering"
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


@dataclass(frozen=True)
class _Answer:
    reply: Reply
    statistics: dict[str, object] | None = None  # what the daily statistics count of this message, if anything


def handle_inbound(sender: str, body: str, message_sid: str, *, simulated: bool = False) -> Reply:
    """Answer a text; the same ``message_sid`` always gets the same reply and is processed once.

    ``simulated`` keeps a simulator's conversation apart from the real texter's with the same
    number, and out of the statistics.
    """
    sender_info = _identify(sender, simulated=simulated)
    backend = counting_cache()
    rate = [(f"sms:rate:{sender_info.hash}", 1)] if sender_info.hash else []
    window = settings.SMS_RATE_WINDOW_SECONDS
    reply_key = f"sms:reply:{keyed_hash('sid:' + message_sid)}" if message_sid else ""
    # One key per MessageSid: first a claim (this delivery is being answered), placed in the same round trip
    # as the count of the sender's messages, then the reply. A delivery that cannot place the claim is a
    # retry, not counted again: it gets the stored reply, or, while the first is still being answered, the
    # help text at once.
    if reply_key:
        claimed, held = backend.add_and_count(reply_key, _ANSWERING, _CLAIM_SECONDS, rate, window)
        if not claimed:
            return _stored_reply(held) or _in_flight_reply(sender_info)
        counts = held
    else:
        counts = backend.add_to_counters(rate, window) if rate else []
    try:
        # No transaction around the whole answer: on SQLite it would hold the write lock during the search.
        answer = _answer(sender_info, body, simulated=simulated, sent=counts[0] if counts else 0)
    except Exception as error:  # a texter must get a useful answer, never an error
        _log_failure(error)
        answer = _Answer(_fallback_reply(sender_info.country, ""))
    reply = answer.reply
    stored = (reply_key, (reply.text, reply.language), _REPLY_SECONDS) if reply_key else None
    try:
        if answer.statistics is not None:
            _count_message(answer.statistics, and_set=stored)
        elif stored is not None:
            backend.set(*stored)
    except Exception as error:  # the reply is sent all the same; a retry is answered afresh
        _log_failure(error)
    return reply


def _stored_reply(held: object) -> Reply | None:
    if isinstance(held, tuple) and len(held) == 2:
        return Reply(str(held[0]), str(held[1]))
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


def _answer(sender: _Sender, body: str, *, simulated: bool, sent: int) -> _Answer:
    """Answer the text; ``sent`` is how many messages the sender has sent in the rate window, this one
    included (0 when the sender is unknown)."""
    tables = topic_tables()
    intent = parse_message(body, sender.country, tables.keywords)
    conversation, opted_out = _texter_state(sender.hash)
    country = intent.country or (conversation.country if conversation else "") or sender.country
    language = choose_language(
        intent.language, conversation.language if conversation else None, default_language(country)
    )

    if intent.action == Action.OPT_IN and opted_out:
        OptOut.objects.filter(sender_hash=sender.hash).delete()
        return _record(intent, language, country, simulated, notice_reply("opted_in", language, country=country))
    if opted_out:
        return _Answer(Reply("", language))
    if intent.action == Action.OPT_OUT:
        if sender.hash:
            OptOut.objects.get_or_create(sender_hash=sender.hash)
            Conversation.objects.filter(sender_hash=sender.hash).delete()
        return _record(intent, language, country, simulated, notice_reply("opted_out", language))

    allowance = _rate_allowance(sent)
    if allowance == "silent":
        return _Answer(Reply("", language))
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


def _texter_state(sender_hash: str) -> tuple[Conversation | None, bool]:
    """The texter's unexpired conversation and whether they opted out, read in one statement."""
    if not sender_hash:
        return None, False
    conversations, opt_outs = Conversation._meta.db_table, OptOut._meta.db_table
    columns = ", ".join(
        f"c.{connection.ops.quote_name(str(field.column))}" for field in Conversation._meta.concrete_fields
    )
    now = Conversation._meta.get_field("expires_at").get_db_prep_value(timezone.now(), connection)
    row = next(
        iter(
            Conversation.objects.raw(
                f"SELECT {columns}, o.id IS NOT NULL AS opted_out FROM (SELECT %s AS sender_hash) AS texter "  # noqa: S608 - names only
                f"LEFT JOIN {opt_outs} o ON o.sender_hash = texter.sender_hash "
                f"LEFT JOIN {conversations} c ON c.sender_hash = texter.sender_hash AND c.expires_at > %s",
                [sender_hash, now],
            )
        )
    )
    return (row if row.pk is not None else None), bool(getattr(row, "opted_out", False))


def _rate_allowance(sent: int) -> str:
    """Return "ok", "warn" for the first message over the limit, then "silent" until the window ends."""
    if sent <= settings.SMS_RATE_LIMIT:
        return "ok"
    return "warn" if sent == settings.SMS_RATE_LIMIT + 1 else "silent"


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
    # One statement: a texter's two messages cannot race to create it.
    _upsert(Conversation, [{"sender_hash": sender_hash, **defaults}], unique=["sender_hash"])


def _upsert(
    model: type[Model], rows: list[dict[str, Any]], *, unique: list[str], keep_higher: tuple[str, ...] = ()
) -> None:
    """Insert ``rows`` or, where one with the same ``unique`` fields exists, update it to theirs.

    The fields in ``keep_higher`` are never lowered. ``INSERT ... ON CONFLICT DO UPDATE`` (SQLite and PostgreSQL),
    sent on its own outside a transaction: Django's ``bulk_create`` adds BEGIN and COMMIT, two more round trips,
    and cannot keep the higher value.

    Sent on its own on PostgreSQL, the statement's transaction commits without waiting for the log to reach
    the disk (``synchronous_commit`` off for that transaction alone, as SQLite's ``synchronous=NORMAL`` does
    for every commit): a crash of the database server may lose the last fraction of a second of what it
    writes, never half of it. Both callers write short-lived state (conversations, counts flushed from the
    cache); a STOP, a listing or a review is never written this way. Inside a transaction it leaves the
    transaction's commit as it is.
    """
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    fields = [cast("Field[Any, Any]", model._meta.get_field(name)) for name in rows[0]]
    column_of = {field.name: quote(str(field.column)) for field in fields}
    columns = list(column_of.values())
    keys = {column_of[name] for name in unique}
    higher = {column_of[name] for name in keep_higher}
    greatest = "MAX" if connection.vendor == "sqlite" else "GREATEST"
    updates = ", ".join(
        f"{column} = {greatest}({table}.{column}, EXCLUDED.{column})"
        if column in higher
        else f"{column} = EXCLUDED.{column}"
        for column in columns
        if column not in keys
    )
    placeholders = f"({', '.join(['%s'] * len(columns))})"
    batch = max(1, 900 // len(columns))  # well under SQLite's limit on parameters per statement
    unhurried = _COMMIT_UNFLUSHED if connection.vendor == "postgresql" and not connection.in_atomic_block else ""
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([placeholders] * len(chunk))} "  # noqa: S608 - names only
                f"ON CONFLICT ({', '.join(column_of[name] for name in unique)}) DO UPDATE SET {updates}{unhurried}",
                [field.get_db_prep_save(row[field.name], connection) for row in chunk for field in fields],
            )


# Set while the statement runs, so its own transaction (autocommit) commits without waiting for the flush.
_COMMIT_UNFLUSHED = " RETURNING set_config('synchronous_commit', 'off', true)"


def _record(intent: Intent, language: str, country: str, simulated: bool, text: str, result_count: int = 0) -> _Answer:
    logger.info("SMS %s keyword=%s country=%s results=%d", intent.action, intent.keyword or "-", country, result_count)
    statistics = None
    if not simulated:
        statistics = {
            "keyword": intent.keyword[:40],
            "topic": intent.topic,
            "language": language,
            "country": country,
            "postcode_prefix": postcode_prefix(intent.country, intent.postcode),
            "result_count": min(result_count, 32767),
        }
    return _Answer(Reply(text, language), statistics)


# Daily statistics are tallied in the shared cache, in the round trip that stores the reply (``config.cache``), and
# the kinds counted since the last copy reach ``DailyStat`` at most every ``SMS_STATS_FLUSH_SECONDS``, copied by
# whichever message comes first in that time; tallies live two days.
_STATS_SECONDS = 2 * DAY
_DIMENSIONS = ("keyword", "topic", "language", "country", "postcode_prefix", "result_count")
# Flushes this early in a day copy the day before too: its last messages came after its last flush.
_YESTERDAY_OPEN = timedelta(minutes=15)


def _tally_name(day: date) -> str:
    return f"sms:stat:{day.isoformat()}"


def _count_message(dimensions: dict[str, object], *, and_set: tuple[str, Any, int] | None = None) -> None:
    """Count the message in today's statistics (setting ``and_set`` in the same round trip), flushing when due."""
    now = timezone.now()
    today = now.date()
    values = [dimensions[name] for name in _DIMENSIONS]
    kind = hashlib.sha256(repr(values).encode()).hexdigest()[:32]
    due = counting_cache().tally(
        _tally_name(today),
        kind,
        values,
        _STATS_SECONDS,
        due_every=settings.SMS_STATS_FLUSH_SECONDS,
        and_set=and_set,
    )
    if not due:
        return
    try:
        if now - datetime.combine(today, time.min, tzinfo=now.tzinfo) < _YESTERDAY_OPEN:
            flush_statistics(today - timedelta(days=1))  # what came after yesterday's last flush
        flush_statistics(today)
    except Exception as error:  # the texter's answer does not wait on statistics: the next flush copies them
        _log_failure(error)


def flush_statistics(day: date | None = None) -> int:
    """Copy the kinds counted since the last flush into ``DailyStat``, never lowering a count; return how many.

    Each kind changed goes to one flush, on whichever node; if the copy fails they are given back to the next.
    """
    day = day or timezone.now().date()
    backend = counting_cache()
    changed = backend.take_changed(_tally_name(day))
    try:
        _store_statistics(day, {tuple(values): count for values, count in changed.values()})
    except BaseException:
        backend.mark_changed(_tally_name(day), list(changed), _STATS_SECONDS)
        raise
    return len(changed)


def _store_statistics(day: date, counts: dict[tuple[object, ...], int]) -> None:
    # One statement per few hundred kinds, whatever the database holds already; a count is never lowered
    # (another node, or this one counting on its own while Redis was lost, may have written a higher one).
    rows = [
        {"date": day, **dict(zip(_DIMENSIONS, values, strict=True)), "count": count} for values, count in counts.items()
    ]
    if rows:
        _upsert(DailyStat, rows, unique=["date", *_DIMENSIONS], keep_higher=("count",))


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
