"""The API's JSON renderer: DRF's, with orjson writing the answers built from rows.

DRF's JSONRenderer (json.dumps, `ensure_ascii=False`, compact separators, U+2028 and U+2029
escaped) took a third of the document read's own time (bench/README.md, "One document: the
renderer"). For a body marked `PlainBody`, orjson writes the same bytes about fifteen times
faster: the builders that mark one (api/claim_bodies.py) put in it only dicts, lists, str,
int, bool, None and floats that both write alike (`plain_float`). Anything else orjson meets
(a float subclass, a date, a lazy string, an integer past 64 bits, a lone surrogate) and every
unmarked body go through DRF's renderer as before. tests/api/test_renderers.py compares the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework import renderers

# orjson hands these to `default` (which refuses them) instead of writing them its own way.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


class PlainBody(dict):
    """An answer whose values orjson writes exactly as json.dumps does (see the module)."""


class OddFloat(float):
    """A float that json.dumps and orjson write differently (an exponent, or not finite): orjson
    refuses the subclass, so a body holding one is written by DRF's renderer, which writes it as
    the float it is."""


def plain_float(value: float) -> float:
    """`value`, or an OddFloat when orjson would not write it as json.dumps does: both write
    the shortest digits that read back the same, but json.dumps switches to an exponent below
    1e-4 and from 1e16 ("1e-05"; orjson "0.00001"), and orjson writes NaN and infinities as
    null where DRF's renderer refuses them."""
    magnitude = abs(value)  # (NaN compares false with everything)
    return value if 1e-4 <= magnitude < 1e16 or magnitude == 0.0 else OddFloat(value)


def _refuse(value: Any) -> Any:
    raise TypeError


class JSONRenderer(renderers.JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if (
            type(data) is PlainBody
            and self.compact
            and not self.ensure_ascii
            and self.get_indent(accepted_media_type or "", renderer_context or {}) is None
        ):
            try:
                body = orjson.dumps(data, default=_refuse, option=_OPTIONS)
            except orjson.JSONEncodeError:
                pass
            else:
                # DRF escapes these two (valid JSON, but not JavaScript string literals).
                if _LINE_SEPARATOR in body:
                    body = body.replace(_LINE_SEPARATOR, b"\\u2028")
                if _PARAGRAPH_SEPARATOR in body:
                    body = body.replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
                return body
        return super().render(data, accepted_media_type, renderer_context)
