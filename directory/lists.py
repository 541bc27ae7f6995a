"""The services list's filters over the read model: which listings, in (name, id) order.

The same filters as ``directory.filters.ServiceFilter`` (whose form still parses and validates every
parameter), on the read model's columns; ``tests/test_services_list_read_model.py`` holds the two to the
same pages. Filters the model cannot answer (text search, channels, modification dates, distances) leave
the list to SQL.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from directory import rules
from directory.models import CoverageScope
from directory.readmodel import KIND_CODE, LOCATED, ReadModel

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
