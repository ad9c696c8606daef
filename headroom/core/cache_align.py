"""CacheAligner: volatile values go to the end of their own system prompt.

A date, a time or a request id near the top of a system prompt changes the
prompt's bytes from that token on, so a provider's prefix cache (which matches
tokens from the start) misses on the whole prompt. With `cache_align` on, such
values are replaced by stable references and restated at the end of the *same*
system message: the part before them stays byte-identical across requests.

What it never does: move system content into another message (a user-role
message would lower its authority, and a user could type a block that looks
the same), or touch any other message, so earlier turns stay byte-stable and
the message count is unchanged. Off by default: within one conversation the
system prompt is usually constant and the aligner gains nothing there
(`bench/cache_align.py` measures it); it helps long system prompts with a
per-request value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from headroom.core.messages import Message

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
#: The line that restates the values; a prompt already ending with it is aligned.
_LISTING = "[dynamic values referenced above: "


def find_volatile(text: str) -> list[str]:
    """Volatile values (dates, times, uuids, unix timestamps) in order of appearance."""
    return [m.group(0) for m in _VOLATILE.finditer(text)]


def _aligned(content: str) -> str | None:
    """`content` with its volatile values restated at its end, or None if it has none."""
    _, sep, tail = content.rpartition(f"\n\n{_LISTING}")
    if sep and tail.endswith("]") and "\n" not in tail:
        return None  # aligned already: compress() is idempotent
    values = find_volatile(content)
    if not values:
        return None
    numbers: Iterator[int] = iter(range(1, len(values) + 1))

    def reference(_match: re.Match[str]) -> str:
        return f"<value {next(numbers)}>"

    stable = _VOLATILE.sub(reference, content)
    listing = "; ".join(f"value {n}: {v}" for n, v in enumerate(values, 1))
    return f"{stable}\n\n{_LISTING}{listing}]"


def align_system_prompt(messages: Sequence[Message]) -> list[Message] | None:
    """Move volatile values of string system/developer prompts to the end of each prompt.

    Only those messages change (copies; the input is not mutated). Returns None
    when there is nothing to move.
    """
    out = list(messages)
    changed = False
    for i, message in enumerate(out):
        content = message.get("content")
        if message.get("role") not in ("system", "developer") or not isinstance(content, str):
            continue
        aligned = _aligned(content)
        if aligned is not None:
            out[i] = {**message, "content": aligned}
            changed = True
    return out if changed else None
