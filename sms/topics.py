"""The topic tables the SMS parser and replies need, read from the Topic rows and cached."""

from collections.abc import Mapping
from dataclasses import dataclass

from django.core.cache import cache

from directory.models import Topic
from sms.parsing import build_keyword_table

CACHE_KEY = "sms:topic-tables:v1"
# Edits in the admin reach texters within this delay.
CACHE_SECONDS = 300


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


def topic_tables() -> TopicTables:
    cached = cache.get(CACHE_KEY)
    if isinstance(cached, TopicTables):
        return cached
    rows = list(Topic.objects.order_by("position", "slug").values_list("slug", "keywords", "advice"))
    tables = TopicTables(
        keywords=build_keyword_table((slug, _keywords_of(keywords)) for slug, keywords, _ in rows),
        advice={slug: _advice_of(advice) for slug, _, advice in rows},
    )
    cache.set(CACHE_KEY, tables, CACHE_SECONDS)
    return tables
