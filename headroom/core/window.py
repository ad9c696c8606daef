"""RollingWindow: make a request fit the model's context window.

Only when a request is over `model_limit - output_reserve`: the oldest tool
results are replaced by retrievable stubs first (their calls stay, so every
call keeps its result), then the oldest prose turns. The system prompt and the
last `keep_last_turns` turns are never touched, and no message is removed, so
the message count (and every tool pairing) is preserved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from headroom.core.ccr import content_hash
from headroom.core.config import CompressConfig
from headroom.core.messages import Message, find_slots, replace_slots, user_text
from headroom.core.store import CCRStore
from headroom.core.transforms.base import marker

__all__ = ["context_window", "fit"]

# Model-name fragments -> context window in tokens; first match wins.
_WINDOWS: tuple[tuple[str, int], ...] = (
    ("gpt-4.1", 1_047_576),
    ("gpt-5", 400_000),
    ("gpt-4o", 128_000),
    ("gpt-4-turbo", 128_000),
    ("o1", 200_000),
    ("o3", 200_000),
    ("o4", 200_000),
    ("gpt-4", 8_192),
    ("gpt-3.5", 16_385),
    ("claude", 200_000),
    ("gemini", 1_048_576),
)


def context_window(model: str) -> int | None:
    """The context window of a known model, else None (no fitting)."""
    bare = model.rsplit("/", 1)[-1].lower()
    for fragment, size in _WINDOWS:
        if fragment in bare:
            return size
    return None


def _protected_from(messages: Sequence[Message], keep_last_turns: int) -> int:
    """Index of the first message of the last `keep_last_turns` user turns."""
    seen = 0
    for i in range(len(messages) - 1, -1, -1):
        if user_text(messages[i]).strip():
            seen += 1
            if seen >= keep_last_turns:
                return i
    return 0


def fit(
    messages: list[Message],
    sizes: list[int],
    budget: int,
    cfg: CompressConfig,
    store: CCRStore,
    measure: Callable[[Message], int],
) -> tuple[list[Message], list[str]]:
    """Stub oldest tool results, then oldest prose, until the request fits `budget`."""
    out = list(messages)
    total = sum(sizes)
    hashes: list[str] = []
    stop = _protected_from(out, cfg.keep_last_turns)
    slots = [s for s in find_slots(out) if s.index < stop]
    tool_slots = [s for s in slots if s.kind == "tool_output"]
    prose_slots = [s for s in slots if s.kind in ("user_text", "assistant_text")]
    for slot in [*tool_slots, *prose_slots]:
        if total <= budget:
            break
        if len(slot.text) < 200:
            continue
        ccr_hash = content_hash(slot.text)
        store.put(ccr_hash, slot.text)
        what = (
            f"output of {slot.tool_name}"
            if slot.tool_name
            else f"earlier {slot.kind.split('_')[0]} message"
        )
        stub = marker(
            f"{what} ({len(slot.text)} chars) moved out to fit the context window",
            ccr_hash if cfg.markers_name_tool else None,
        )
        before = measure(out[slot.index])
        out = replace_slots(out, {(slot.index, slot.path): stub})
        total += measure(out[slot.index]) - before
        hashes.append(ccr_hash)
    return out, hashes
