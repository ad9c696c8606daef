"""CacheAligner: keep the system prompt's bytes stable across requests.

A date or request id in the system prompt changes every day (or every call)
and so invalidates the provider's prompt cache from the very first token. The
volatile values are replaced by a stable reference and restated after the
latest user question, the end of the request, where a change costs nothing
that is cached.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from headroom.core.messages import Message, append_text

__all__ = ["align_system_prompt", "find_volatile"]

_MONTHS = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|Jun(?:e)?|Jul(?:y)?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_VOLATILE = re.compile(
    "|".join(
        [
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b",
            rf"\b{_MONTHS}\.? \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}\b",
            rf"\b\d{{1,2}} {_MONTHS} \d{{4}}\b",
            r"\b\d{1,2}/\d{1,2}/\d{2,4}\b",
            r"\b\d{1,2}:\d{2}(?::\d{2})?\s?(?:[AaPp][Mm]|UTC|GMT)?\b",
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            r"\b1[6-9]\d{8}(?:\d{3})?\b",  # unix seconds / millis
        ]
    ),
    re.IGNORECASE,
)


def find_volatile(text: str) -> list[str]:
    """Volatile values (dates, times, uuids, unix timestamps) in order of appearance."""
    return [m.group(0) for m in _VOLATILE.finditer(text)]


def align_system_prompt(messages: Sequence[Message], question_index: int) -> list[Message] | None:
    """Move volatile values from string system prompts to after the latest question.

    Returns None when there is nothing to move (or no question to move it to).
    """
    if question_index < 0:
        return None
    out = list(messages)
    moved: list[str] = []
    for i, message in enumerate(out):
        if message.get("role") not in ("system", "developer") or not isinstance(
            message.get("content"), str
        ):
            continue
        values = find_volatile(message["content"])
        if not values:
            continue
        numbers = iter(range(len(moved) + 1, len(moved) + len(values) + 1))

        def reference(_match: re.Match[str], numbers: Iterator[int] = numbers) -> str:
            return f"<value {next(numbers)} in the dynamic context>"

        stable = _VOLATILE.sub(reference, message["content"])
        out[i] = {**message, "content": stable}
        moved.extend(values)
    if not moved:
        return None
    listing = "; ".join(f"value {n}: {v}" for n, v in enumerate(moved, 1))
    out[question_index] = append_text(
        out[question_index], f"[dynamic context from the system prompt: {listing}]"
    )
    return out
