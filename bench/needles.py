"""Needle recall, exactly as the corpus README defines it.

A needle counts as kept when it occurs somewhere in the compressed messages:
message text, tool results (OpenAI ``tool`` messages and Anthropic ``tool_result``
blocks) and tool-call arguments (OpenAI ``function.arguments`` strings and
Anthropic ``tool_use`` inputs). The needle may appear verbatim or JSON-escaped
(as inside a JSON string), runs of whitespace are equal to each other (an escaped
``\\n``/``\\t``/``\\r`` counts as whitespace), and a needle that starts or ends
with a digit only matches a whole number there (``130`` is not found in ``1300``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = [
    "NeedleRecall",
    "haystack",
    "needle_pattern",
    "needle_present",
    "recall",
]

# Keys that hold identifiers or structure, never content a model reads as text.
_SKIP_KEYS = frozenset(
    {"role", "type", "id", "tool_call_id", "tool_use_id", "cache_control", "media_type"}
)

# Whitespace run, or a JSON escape that stands for whitespace.
_WS = r"(?:\s|\\[nrt])+"


@dataclass(frozen=True)
class NeedleRecall:
    """Which needles of one case survived compression."""

    found: tuple[str, ...]
    lost: tuple[str, ...]

    @property
    def total(self) -> int:
        return len(self.found) + len(self.lost)

    @property
    def fraction(self) -> float:
        return len(self.found) / self.total if self.total else 1.0


def _strings(value: Any) -> Iterator[str]:
    """Every string a model would read inside ``value`` (recursing into blocks)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in _SKIP_KEYS:
                continue
            if key == "input" and not isinstance(item, str):
                # Anthropic tool_use input: the model sees it as JSON.
                yield json.dumps(item, ensure_ascii=False)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def haystack(messages: Iterable[Any], system: Any = None) -> list[str]:
    """The texts needles are searched in: content, tool results and tool-call arguments."""
    pieces: list[str] = []
    if system is not None:
        pieces.extend(_strings(system))
    for message in messages:
        if isinstance(message, dict):
            pieces.extend(_strings({k: v for k, v in message.items() if k != "name"}))
    return pieces


def _escape(word: str, mode: int) -> str:
    """``word`` as written (0), or as it reads inside a JSON string (1: ASCII-escaped, 2: not)."""
    if mode == 0:
        return word
    return json.dumps(word, ensure_ascii=mode == 1)[1:-1]


@lru_cache(maxsize=1024)
def needle_pattern(needle: str) -> re.Pattern[str]:
    """A regex matching ``needle`` under the README's equivalences."""
    words = needle.split()
    if not words:
        raise ValueError("empty needle")
    # Every word escaped the same way: a serializer does not mix forms in one string.
    alternatives = sorted(
        {_WS.join(re.escape(_escape(w, mode)) for w in words) for mode in (0, 1, 2)}
    )
    body = "|".join(f"(?:{alt})" for alt in alternatives)
    stripped = needle.strip()
    starts_numeric = stripped[0].isdigit() or (
        len(stripped) > 1 and stripped[0] in "+-" and stripped[1].isdigit()
    )
    left = r"(?<![0-9])(?<![0-9]\.)" if starts_numeric else ""
    right = r"(?![0-9])(?!\.[0-9])" if stripped[-1].isdigit() else ""
    return re.compile(f"{left}(?:{body}){right}")


def needle_present(needle: str, texts: Iterable[str]) -> bool:
    """Whether ``needle`` occurs in any of ``texts``."""
    pattern = needle_pattern(needle)
    return any(pattern.search(text) for text in texts)


def recall(needles: Iterable[str], messages: Iterable[Any], system: Any = None) -> NeedleRecall:
    """Which of ``needles`` are still present in ``messages`` (and ``system``)."""
    texts = haystack(messages, system)
    found: list[str] = []
    lost: list[str] = []
    for needle in needles:
        (found if needle_present(needle, texts) else lost).append(needle)
    return NeedleRecall(tuple(found), tuple(lost))
