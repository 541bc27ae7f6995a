"""Display data of the final results, read from the database in one query: how to reach each service."""

import functools
from typing import Any

from django.db import connection

from directory.models import ChannelKind
from directory.phones import DIALLED_KINDS, reachable_from
from directory.search.query import Contact

_E164_PATTERN = "+%"
_QUERY = (
    "SELECT ch.service_id, ch.kind, ch.value, ch.display, ch.sms_keyword, ch.label, ch.is_primary, "  # noqa: S608
    "ch.position, ch.id, cov.country FROM directory_contactchannel ch "
    # The coverage rows are looked up only for a number dialled as written: for the others the key is NULL,
    # which both databases answer without reading the index (a condition beside the key was checked after
    # reading the rows on PostgreSQL).
    "LEFT OUTER JOIN directory_coverage cov ON cov.service_id = (CASE WHEN "
    f"ch.kind IN ({', '.join(['%s'] * len(DIALLED_KINDS))}) AND ch.value NOT LIKE %s THEN ch.service_id END) "
    "WHERE ch.service_id IN ({ids}) ORDER BY ch.position, ch.id"
)


@functools.lru_cache(maxsize=50_000)
def _dialled_from(value: str, caller_country: str) -> bool:
    # Parsing a number is most of a result's cost; for a number in E.164 the answer depends only on the
    # number and the caller's country (``reachable_from`` reads the listing's countries only for the others).
    return reachable_from("phone", value, (), caller_country)


def _reachable(kind: str, value: str, homes: frozenset[str], caller_country: str) -> bool:
    if kind in DIALLED_KINDS and caller_country and value.startswith("+"):
        return _dialled_from(value, caller_country.upper())
    return reachable_from(kind, value, homes, caller_country)


def contacts_for(service_ids: list[int], caller_country: str = "") -> dict[int, tuple[Contact, ...]]:
    """Each service's ways to reach it, the primary phone first, then in the order the listing gives.

    With ``caller_country``, only the channels someone there can use (``phones.reachable_from``).
    The countries a listing covers come, in the same query, with the channels whose reach depends on them.
    """
    found: dict[int, dict[int, tuple[tuple[Any, ...], Contact]]] = {}
    homes: dict[int, set[str]] = {}
    if not service_ids:
        return {}
    # One raw query: building it with the ORM cost more than running it. Only a number dialled as written
    # in the country (not in E.164) needs the listing's countries: the others skip the coverage rows.
    with connection.cursor() as cursor:
        cursor.execute(
            _QUERY.format(ids=", ".join(["%s"] * len(service_ids))), [*DIALLED_KINDS, _E164_PATTERN, *service_ids]
        )
        rows = cursor.fetchall()
    for service_id, kind, value, display, keyword, label, primary, position, channel_id, home in rows:
        if home:
            homes.setdefault(channel_id, set()).add(home)
        key = (not (kind == ChannelKind.PHONE and primary), position, channel_id)
        contact = Contact(kind=kind, value=value, display=display or value, sms_keyword=keyword, label=label)
        found.setdefault(service_id, {})[channel_id] = (key, contact)
    return {
        service_id: tuple(
            contact
            for key, contact in sorted(pairs.values())
            if _reachable(contact.kind, contact.value, frozenset(homes.get(key[2], ())), caller_country)
        )
        for service_id, pairs in found.items()
    }
