"""DRF's JSON renderer, with orjson encoding the compact bodies every API answer has.

The body is the JSON DRF's own renderer gives (compact, UTF-8, U+2028 and U+2029 escaped): orjson writes
only some numbers differently (``0.00001`` where Python writes ``1e-05``, the same value to any JSON
reader), and a float that is not a number (NaN, infinity) as ``null`` where DRF refuses the whole body.
What orjson would render otherwise than DRF's encoder (dates and times, dataclasses, lazy translations,
decimals, sets, integers beyond 64 bits, keys that are not strings) and an indented body are left to
DRF's renderer.
"""

from collections.abc import Mapping
from typing import Any, NoReturn

import orjson
from rest_framework import renderers

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_SEPARATORS = (("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"))


def _not_plain(value: Any) -> NoReturn:
    raise TypeError(type(value).__name__)


class JSONRenderer(renderers.JSONRenderer):
    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        plain = data is not None and self.compact and not self.ensure_ascii
        if plain and self.get_indent(accepted_media_type or "", renderer_context or {}) is None:
            try:
                body = orjson.dumps(data, default=_not_plain, option=_OPTIONS)
            except TypeError:
                pass
            else:
                if b"\xe2\x80" in body:  # the first two bytes of U+2028 and U+2029 (and of dashes, quotes)
                    for separator, escaped in _SEPARATORS:
                        body = body.replace(separator, escaped)
                return body
        return super().render(data, accepted_media_type, renderer_context)
