"""The services list's filters over the read model: which listings, in (name, id) order.

The same filters as ``directory.filters.ServiceFilter`` (whose form still parses and validates every
parameter), on the read model's columns; ``tests/test_services_list_read_model.py`` holds the two to the
same pages. Filters the model cannot answer (text search, channels, modification dates, distances) leave
the list to SQL.
"""

import functools
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import numpy as np

from directory import rules
from directory.models import CoverageScope, translated
from directory.readmodel import KIND_CODE, LOCATED, ReadModel, aware_utc
from directory.regions import region_name
from directory.sql import fetch_all

# Parameters the read model answers; any other filter in use sends the list to SQL.
ANSWERED = frozenset({"kind", "topic", "language", "country", "region", "age", "verified"})


def answers(cleaned: Mapping[str, Any]) -> bool:
    """Whether every filter in use is one the read model answers."""
    return all(name in ANSWERED for name, value in cleaned.items() if value not in (None, "", [], ()))


def _rows(model: ReadModel, keys: list[tuple[str, str, str]]) -> np.ndarray:
    found = [model.areas[key] for key in keys if key in model.areas]
    return np.concatenate(found) if found else np.empty(0, np.int32)


def _serving_country(model: ReadModel, country: str) -> np.ndarray:
    """Covers the country (any coverage naming it, or worldwide) or is located there."""
    keys = [(scope, "country", country) for scope in CoverageScope.values]
    keys += [(CoverageScope.WORLDWIDE, "country", ""), (LOCATED, "country", country)]
    return _rows(model, keys)


def _serving_region(model: ReadModel, region: str) -> np.ndarray:
    keys = [
        (CoverageScope.WORLDWIDE, "country", ""),
        (CoverageScope.COUNTRY, "country", region.split("-")[0]),
        (CoverageScope.SUBDIVISION, "subdivision", region),
        (LOCATED, "subdivision", region),
    ]
    return _rows(model, keys)


def matching(model: ReadModel, cleaned: Mapping[str, Any], now: datetime) -> np.ndarray:
    """Rows of the live listings that pass the filters, as a mask over the model's rows."""
    ok = rules.live_mask(model.active, model.archived)
    kinds = cleaned.get("kind")
    if kinds:
        ok &= np.isin(model.kind, [KIND_CODE[kind] for kind in kinds])
    topic = cleaned.get("topic")
    if topic is not None:
        bit = model.topic_bit.get(topic.pk)
        ok &= (model.topics & np.uint64(1 << bit)) != 0 if bit is not None else False
    language = cleaned.get("language")
    if language is not None:
        bit = model.language_bit.get(language.code)
        ok &= (model.languages & np.uint64(1 << bit)) != 0 if bit is not None else False
    for name, serving in (("country", _serving_country), ("region", _serving_region)):
        if cleaned.get(name):
            served = np.zeros(len(model.ids), bool)
            served[serving(model, cleaned[name])] = True
            ok &= served
    if cleaned.get("age") is not None:
        ok &= rules.serves_age_mask(model.min_age, model.max_age, cleaned["age"])
    verified = cleaned.get("verified") or "true"
    if verified != "any":
        current = rules.current_mask(model.state, model.review_due, now)
        ok &= current if verified == "true" else ~current
    return ok


class OrderedIds:
    """The matching listings' ids in (name, id) order, sliced lazily: what a paginator pages through."""

    def __init__(self, model: ReadModel, mask: np.ndarray) -> None:
        order = model.name_order()
        self._rows = order[mask[order]]
        self._ids = model.ids

    def __len__(self) -> int:
        return len(self._rows)

    def count(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [int(service_id) for service_id in self._ids[self._rows[index]]]
        return int(self._ids[self._rows[index]])


# The lean list path: bitsets over the listings in (name, id) order, so a page and its count take a few
# word-wide ANDs and popcounts instead of passes over a million rows.


def _packed(mask: np.ndarray) -> np.ndarray:
    """A bool array as bits, little-endian within 64-bit words (the tail padded with zeros)."""
    bits = np.packbits(mask, bitorder="little")
    padded = np.zeros(-(-len(bits) // 8) * 8, np.uint8)
    padded[: len(bits)] = bits
    return padded.view(np.uint64)


class ListIndex:
    """Per filter value, which listings (as positions in ``ReadModel.name_order()``) pass it.

    Built from one model at one version (``index_for`` rebuilds it when the model moves on). Countries
    are filled in when first asked; the verified rule, which depends on the time, keeps the verified
    listings and their review dates sorted, and clears the overdue ones as the clock passes them.
    """

    def __init__(self, model: ReadModel) -> None:
        self.version = model.version
        self.model = model
        order = self.order = model.name_order()
        self.size = len(order)
        self.live = _packed(rules.live_mask(model.active, model.archived)[order])
        kinds = model.kind[order]
        self.kinds = {code: _packed(kinds == code) for code in set(KIND_CODE.values())}
        topics, languages = model.topics[order], model.languages[order]
        self.topics = {bit: _packed((topics & np.uint64(1 << bit)) != 0) for bit in model.topic_bit.values()}
        self.languages = {bit: _packed((languages & np.uint64(1 << bit)) != 0) for bit in model.language_bit.values()}
        self.countries: dict[str, np.ndarray] = {}
        state, due = model.state[order], model.review_due[order]
        verified = state == rules.VERIFIED_CODE
        self.verified = _packed(verified)
        dated = np.flatnonzero(verified & ~np.isnan(due))
        by_date = np.argsort(due[dated], kind="stable")
        self.due = due[dated][by_date]
        self.due_positions = dated[by_date].astype(np.int32)
        # (how many review dates have passed, the verified listings minus those)
        self._current = (0, self.verified.copy())

    def country(self, code: str) -> np.ndarray:
        found = self.countries.get(code)
        if found is None:
            mask = np.zeros(len(self.model.ids), bool)
            mask[_serving_country(self.model, code)] = True
            found = self.countries[code] = _packed(mask[self.order])
        return found

    def current(self, now: datetime) -> np.ndarray:
        """``rules.current_mask`` at ``now``, as bits: verified, and not overdue for review."""
        # rules.current_mask: overdue when review_due < now.
        passed = int(np.searchsorted(self.due, now.timestamp(), "left"))
        cleared, bits = self._current
        if passed < cleared:
            cleared, bits = 0, self.verified.copy()
        if passed > cleared:
            positions = self.due_positions[cleared:passed]
            words, offsets = positions >> 6, (positions & 63).astype(np.uint64)
            np.bitwise_and.at(bits, words, ~(np.uint64(1) << offsets))
            self._current = (passed, bits)
        return bits

    def matching(self, filters: Mapping[str, Any], now: datetime) -> np.ndarray:
        """Bits of the live listings passing ``filters`` (``lean.services_filters``): ``matching``'s answer."""
        model = self.model
        bits = self.live.copy()
        kinds = filters.get("kind")
        if kinds:
            chosen = np.zeros_like(bits)
            for kind in set(kinds):
                chosen |= self.kinds[KIND_CODE[kind]]
            bits &= chosen
        topic = filters.get("topic")
        if topic is not None:
            topic_id = next(key for key, slug in model.topic_slugs.items() if slug == topic)
            bits &= self.topics[model.topic_bit[topic_id]]
        language = filters.get("language")
        if language is not None:
            bits &= self.languages[model.language_bit[language]]
        if filters.get("country"):
            bits &= self.country(filters["country"])
        verified = filters.get("verified") or "true"
        if verified != "any":
            current = self.current(now)
            bits &= current if verified == "true" else ~current
        return bits


def index_for(model: ReadModel) -> ListIndex:
    """The model's list index at its current version (built again after the model changed)."""
    index = model.stats.get("list_index")
    if not isinstance(index, ListIndex) or index.version != model.version or index.model is not model:
        index = model.stats["list_index"] = ListIndex(model)
    return index


class MatchingIds:
    """The ids whose bits are set, in (name, id) order, counted and sliced without unpacking them all."""

    def __init__(self, index: ListIndex, bits: np.ndarray) -> None:
        self._ids = index.model.ids
        self._order = index.order
        self._bits = bits
        self._counts = np.cumsum(np.bitwise_count(bits), dtype=np.int64)

    def __len__(self) -> int:
        return int(self._counts[-1]) if len(self._counts) else 0

    def count(self) -> int:
        return len(self)

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, slice):
            found = self[index : index + 1]
            if not found:
                raise IndexError(index)
            return found[0]
        start, stop, step = index.indices(len(self))
        if stop <= start or step != 1:
            return []
        # The words holding the start-th and the (stop - 1)-th set bit, and every word between.
        first = int(np.searchsorted(self._counts, start, "right"))
        last = int(np.searchsorted(self._counts, stop - 1, "right"))
        before = int(self._counts[first - 1]) if first else 0
        words = self._bits[first : last + 1]
        # Only the words holding a set bit are unpacked: a rare filter's page can span most of the words.
        held = np.flatnonzero(words)
        word, bit = np.nonzero(np.unpackbits(words[held].view(np.uint8), bitorder="little").reshape(len(held), 64))
        positions = (held[word] + first) * 64 + bit
        chosen = positions[start - before : stop - before]
        return [int(service_id) for service_id in self._ids[self._order[chosen]]]


# The page's rows, as ServiceSummarySerializer shows them, from three queries on the page's ids, sent together
# (``sql.fetch_all``): the listings with their organisations, their coverage, their channels. The read model
# gives the topic and language bits. ``tests/test_services_list_read_model.py`` holds them to the serializer's output.

_PAGE_SERVICES = (
    "SELECT s.id, s.name, s.translations, s.kind, s.verification_state, s.review_due, s.updated_at, "
    "o.id, o.name, o.kind FROM directory_service s INNER JOIN directory_organization o ON o.id = s.organization_id "
    "WHERE s.id IN ({ids})"
)
_PAGE_COVERAGE = (
    "SELECT service_id, scope, country, subdivision, latitude, longitude, radius_km FROM directory_coverage "
    "WHERE service_id IN ({ids}) ORDER BY service_id, id"
)
_PAGE_CHANNELS = (
    "SELECT service_id, kind, value, display, extension, sms_keyword, label, is_primary, position, id "
    "FROM directory_contactchannel WHERE service_id IN ({ids})"
)


def _drf_datetime(value: datetime | None) -> str | None:
    """What DRF's DateTimeField shows (ISO 8601 in UTC, ``Z`` for +00:00)."""
    if value is None:
        return None
    text = value.isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


@functools.lru_cache(maxsize=4096)
def _coverage_name(scope: str, country: str, subdivision: str, radius_km: float | None) -> str:
    if scope == CoverageScope.WORLDWIDE:
        return "Worldwide"
    if scope == CoverageScope.RADIUS:
        return f"Within {radius_km:g} km"
    return region_name(subdivision or country)


def _json(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value) if value not in ("", "{}") else {}
    return value


def summaries(
    model: ReadModel, service_ids: list[int], language: str, now: datetime, url_of: Callable[[int], str]
) -> list[dict[str, Any]]:
    """The listings ``service_ids`` (those still there, in that order) as the services list shows them."""
    if not service_ids:
        return []
    marks = ", ".join(["%s"] * len(service_ids))
    page_services, page_coverage, page_channels = fetch_all(
        [(statement.format(ids=marks), service_ids) for statement in (_PAGE_SERVICES, _PAGE_COVERAGE, _PAGE_CHANNELS)]
    )
    services = {row[0]: row for row in page_services}
    coverage: dict[int, list[dict[str, Any]]] = {}
    for service_id, scope, country, subdivision, lat, lon, radius in page_coverage:
        coverage.setdefault(service_id, []).append(
            {
                "scope": scope,
                "country": country,
                "subdivision": subdivision,
                "latitude": None if lat is None else float(lat),
                "longitude": None if lon is None else float(lon),
                "radius_km": None if radius is None else float(radius),
                "name": _coverage_name(scope, country, subdivision, radius),
            }
        )
    primary: dict[int, tuple[tuple[Any, ...], dict[str, Any]]] = {}
    for (
        service_id,
        kind,
        value,
        display,
        extension,
        keyword,
        label,
        is_primary,
        position,
        channel_id,
    ) in page_channels:
        # ServiceSummarySerializer.get_primary_contact's choice.
        key = (not is_primary, kind != "phone", position, channel_id)
        if service_id not in primary or key < primary[service_id][0]:
            contact = {
                "kind": kind,
                "value": value,
                "display": display,
                "extension": extension,
                "sms_keyword": keyword,
                "label": label,
                "is_primary": bool(is_primary),
            }
            primary[service_id] = (key, contact)
    rows = model.rows_of(service_ids).tolist()
    found = []
    for service_id, row in zip(service_ids, rows, strict=True):
        listing = services.get(service_id)
        if listing is None:
            continue
        _, name, translations, kind, state, review_due, updated_at, org_id, org_name, org_kind = listing
        topics = int(model.topics[row]) if row >= 0 else 0
        languages = int(model.languages[row]) if row >= 0 else 0
        found.append(
            {
                "id": service_id,
                "url": url_of(service_id),
                "name": translated(_json(translations), "name", language, str(name)),
                "kind": kind,
                "organization": {"id": org_id, "name": org_name, "kind": org_kind},
                "topics": list(model.topics_of(topics)),
                "languages": list(model.languages_of(languages)),
                "coverage": coverage.get(service_id, []),
                "primary_contact": primary[service_id][1] if service_id in primary else None,
                "verification_state": rules.effective_state(state, aware_utc(review_due), now),
                "updated_at": _drf_datetime(aware_utc(updated_at)),
                "distance_km": None,
            }
        )
    return found
