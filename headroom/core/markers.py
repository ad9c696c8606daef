"""Reading back the markers compression leaves, for integrations that act on them.

`headroom.core.transforms.base.marker` writes a marker; this module finds them:
whether messages carry one (then `headroom_retrieve` is worth offering, even
when this request compressed nothing new) and where each full marker sits in
a text (to resolve one a model copied into its answer).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from headroom.core.ccr import RETRIEVE_TOOL_NAME
from headroom.core.messages import message_pieces

__all__ = ["MARKER_CALL", "has_markers", "replace_markers"]

#: What every marker that can be undone contains: the call that undoes it.
MARKER_CALL = f"{RETRIEVE_TOOL_NAME}(hash="

#: A whole marker as `marker()` writes it with a hash; the innermost one when
#: markers nest (a summary may quote another marker).
_MARKER = re.compile(
    r"\[headroom: (?:(?!\[headroom: ).)*?full original: "
    + re.escape(RETRIEVE_TOOL_NAME)
    + r'\(hash="([0-9a-f]{16})"\)\]',
    re.DOTALL,
)


def has_markers(messages: Iterable[Mapping[str, Any]]) -> bool:
    """Whether any text of `messages` (core chat dicts) names a retrieve call."""
    return any(MARKER_CALL in piece for m in messages for piece in message_pieces(m)[0])


def replace_markers(text: str, replace: Callable[[str], str | None]) -> tuple[str, list[str]]:
    """`text` with each whole marker replaced by `replace(hash)` (None keeps the marker),
    and the hashes of the markers found, in order."""
    hashes: list[str] = []

    def one(match: re.Match[str]) -> str:
        hashes.append(match.group(1))
        new = replace(match.group(1))
        return match.group(0) if new is None else new

    return _MARKER.sub(one, text), hashes
