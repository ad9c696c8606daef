"""What fitting the window writes where text was: a stub's phrase, a cut's head and
tail around a marker, the ellipsis of a message left out and the note that explains it.

Kept apart so the fitter and whoever recognises the window's own output share
one wording.
"""

from __future__ import annotations

from collections.abc import Callable

from headroom.core.transforms.base import marker

__all__ = ["LEFT_OUT", "WINDOW_PHRASE", "cut_to_fit", "is_stub", "left_out_summary"]

#: A cut keeps more of the head (where outputs state what they are) than of the tail.
_HEAD_SHARE = 2 / 3
WINDOW_PHRASE = "to fit the context window"
#: What each text of a message left out becomes: an ellipsis, one token and not
#: empty (Anthropic rejects empty text blocks), so the message costs little more
#: than its framing; the first one left out carries the marker that explains.
LEFT_OUT = "\u2026"


def left_out_summary(count: int) -> str:
    """The note the first message left out carries, for `count` messages."""
    return f"{count} earlier messages left out {WINDOW_PHRASE} (as JSON)"


def is_stub(text: str) -> bool:
    """Whether `text` is a stub the window wrote before (never stubbed again)."""
    return len(text) < 600 and WINDOW_PHRASE in text


def cut_to_fit(
    text: str, max_tokens: int, count: Callable[[str], int], ccr_hash: str | None
) -> str:
    """`text`'s head and tail around a marker, within `max_tokens` (lines kept whole
    where a line break is near the cut)."""
    tokens = count(text)
    if tokens <= max_tokens:
        return text
    chars_per_token = len(text) / max(1, tokens)
    keep = int(max_tokens * chars_per_token * 0.95)
    while True:
        keep = max(0, keep - 200)  # room for the marker
        head_end = int(keep * _HEAD_SHARE)
        tail_start = len(text) - (keep - head_end)
        line = text.rfind("\n", 0, head_end)
        if line > head_end * 0.8:
            head_end = line
        line = text.find("\n", tail_start)
        if 0 <= line < tail_start + (len(text) - tail_start) * 0.2:
            tail_start = line + 1
        head, tail = text[:head_end], text[tail_start:] if keep else ""
        note = marker(
            f"cut {WINDOW_PHRASE}: kept the first {len(head)} and the last "
            f"{len(tail)} of {len(text)} characters",
            ccr_hash,
        )
        result = "\n".join(p for p in (head, note, tail) if p)
        if keep == 0 or count(result) <= max_tokens:
            return result
        keep = int(keep * 0.8)
