"""The topic tables the SMS parser and replies need, read from the Topic rows and kept in each process."""

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache, cached
from django.db.models.signals import post_delete, post_save

from directory.models import Topic
from sms.parsing import build_keyword_table

# Edits reach texters at once in the process that saved them, and in every other process within this delay.
# Kept in each process, not the shared cache: every text needs them, and a round trip to Redis for each
# cost more than the tables' few kilobytes of memory.
CACHE_SECONDS = 300
_TABLES: TTLCache[str, "TopicTables"] = TTLCache(maxsize=1, ttl=CACHE_SECONDS)


@dataclass(frozen=True)
class TopicTables:
    keywords: dict[str, tuple[str, str]]
    # Topic slug -> {language: one-line advice}
    advice: dict[str, dict[str, str]]

    def advice_for(self, topic: str, language: str) -> str:
        return self.advice.get(topic, {}).get(language, "")


def _keywords_of(value: object) -> dict[str, list[str]]:
    if not isinstance(value, Mapping):
        return {}
    return {
        str(language): [str(word) for word in words if isinstance(word, str)]
        for language, words in value.items()
        if isinstance(words, list)
    }


def _advice_of(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(language): text.strip() for language, text in value.items() if isinstance(text, str) and text.strip()}


@cached(_TABLES, key=lambda: "tables", lock=threading.Lock())
def topic_tables() -> TopicTables:
    rows = list(Topic.objects.order_by("position", "slug").values_list("slug", "keywords", "advice"))
    return TopicTables(
        keywords=build_keyword_table((slug, _keywords_of(keywords)) for slug, keywords, _ in rows),
        advice={slug: _advice_of(advice) for slug, _, advice in rows},
    )


def forget_topic_tables(**_: Any) -> None:
    """Forget this process's tables (a topic was saved or deleted)."""
    topic_tables.cache_clear()


post_save.connect(forget_topic_tables, sender=Topic, dispatch_uid="forget-topic-tables-saved")
post_delete.connect(forget_topic_tables, sender=Topic, dispatch_uid="forget-topic-tables-deleted")
