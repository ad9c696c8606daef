"""RollingWindow: make a request fit the model's context window.

Only when a request is over `model_limit - output_reserve`. Four steps, each
only if the one before was not enough:

1. The oldest tool results are replaced by retrievable stubs (their calls
   stay, so every call keeps its result), then the oldest prose.
2. Stubbing goes in *steps* on a grid fixed by the conversation itself: a
   stub boundary sits where the cumulative size of the stubbable outputs
   crosses a multiple of `STEP_SHARE` of the budget. When a request is over,
   the boundary moves to the next grid line, freeing a whole step at once, and
   the following requests (the same history plus a little) land on the same
   boundary: the stubbed prefix, and so the provider's prompt cache, holds for
   many turns after each cut instead of breaking on every turn.
3. Then whole turns older than the kept tail (`keep_last_turns`) are left
   out, oldest first, in the same steps: a request made of many small
   messages has no single text worth stubbing. A call and its results go
   together; the system prompt and the latest user turn stay. The first
   message left out names how many were and the CCR hash of their originals
   (as JSON).
4. What still does not fit, such as one output larger than the window in a
   kept turn, is cut to its head and tail around a retrievable marker; then
   the kept turns before the latest question, then the older exchanges of the
   latest turn, are left out like whole turns.

No message is removed (every integration maps results back by position): a
message left out keeps its role, ids and tool calls, and its texts shrink to
a few tokens, so the message count and every tool pairing are preserved. If
even that cannot fit, whole-turn removal is undone and a warning is logged:
the request goes out as the earlier steps left it.

This module holds the order of the steps; `window_fitter` the edits and their
token arithmetic, `window_turns` which messages stay and which go together,
`window_texts` what replaces a text, `model_windows` the known windows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from headroom.core.config import CompressConfig
from headroom.core.messages import Message, Path, Slot, find_slots, text_at
from headroom.core.model_windows import context_window
from headroom.core.store import CCRStore
from headroom.core.tokens import MESSAGE_OVERHEAD
from headroom.core.window_fitter import MIN_CUT_TOKENS, Fitter
from headroom.core.window_texts import is_stub
from headroom.core.window_turns import KEPT_ROLES, last_group_start, protected_from

# `context_window` stays importable from here: `compress` reads `window.context_window`.
__all__ = ["STEP_SHARE", "Fitted", "context_window", "fit"]

logger = logging.getLogger("headroom")

#: Share of the budget one stubbing step frees. Each step breaks the cached
#: prefix once, so larger steps break it less often but keep less history
#: verbatim. Measured on a 200-round agent loop at a 128k window
#: (bench/agent_loop.py): a quarter breaks it 20 times per 100 turns and costs
#: 0.30x of uncached input, a half 10 times and 0.22x, three quarters 0.22x
#: while keeping least; half keeps between half and all of the window in use.
STEP_SHARE = 0.5
#: Slots shorter than this are not worth a stub (a stub is ~40 tokens).
_MIN_STUB_CHARS = 200


@dataclass
class Fitted:
    """A request made to fit: the messages, their token sizes, the hashes stubs name,
    what was done."""

    messages: list[Message]
    sizes: list[int]
    hashes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _fit_small_messages(
    fitter: Fitter,
    slots: Sequence[Slot],
    old: Sequence[Slot],
    kept_from: int,
    last_question: int,
    step: int,
) -> None:
    """Leave out whole turns older than the kept tail, cut what is too large in the
    kept turns, then leave out the kept turns before the latest question and the
    latest turn's older exchanges; undo the leaving out (with a warning) when even
    all of it cannot fit, checked first without building anything.

    Cutting comes before leaving out kept turns: a cut output keeps its head and
    tail in place, while a left-out message keeps nothing the caller asked to keep.
    """
    out = fitter.out
    head = next((i for i, m in enumerate(out) if m.get("role") not in KEPT_ROLES), len(out))
    split = max(head, min(kept_from, last_question))
    earlier = (head, split)  # older than the kept tail
    kept = (split, max(split, last_question))  # kept turns before the latest question
    lo = max(head, last_question + 1)
    current = (lo, last_group_start(out, lo, len(out)))  # the latest exchange stays
    spans = [span for span in (earlier, kept, current) if span[0] < span[1]]
    # A bound from sizes alone first: a message left out still costs its framing,
    # so when those alone exceed the budget (100,000 tiny tool messages), no
    # message need be read.
    left = sum(1 for a, b in spans for i in range(a, b) if out[i].get("role") not in KEPT_ROLES)
    if spans and left * MESSAGE_OVERHEAD > fitter.budget:
        logger.info(  # why; compress() warns once that the request is over
            "headroom: the request cannot fit the window's %d tokens even with earlier"
            " turns left out (%d messages cost at least %d tokens of framing); sending it"
            " without leaving them out",
            fitter.budget,
            left,
            left * MESSAGE_OVERHEAD,
        )
        spans = []
        earlier = kept = current = (lo, lo)
    stubbed = {id(s) for s in old}
    recent: list[Slot] = []  # texts of slots not stubbed are unchanged
    floor = fitter.total  # the least the request can cost once all of it is done
    for s in slots:
        i = s.index
        in_kept = kept[0] <= i < kept[1]
        if in_kept or earlier[0] <= i < earlier[1] or current[0] <= i < current[1]:
            if out[i].get("role") not in KEPT_ROLES:
                text = text_at(out[i], s.path) or ""
                floor -= fitter.count(text) - fitter.left_out_tokens
            if not in_kept:
                continue
        if s.kind in ("tool_output", "user_text") and id(s) not in stubbed:
            recent.append(s)  # kept turns' texts may be cut before they are left out
            if not in_kept and len(s.text) > MIN_CUT_TOKENS:
                floor -= max(0, fitter.count(s.text) - MIN_CUT_TOKENS)
    if floor > fitter.budget and spans:
        logger.info(  # why; compress() warns once that the request is over
            "headroom: the request cannot fit the window's %d tokens even with earlier"
            " turns left out (at least %d); sending it without leaving them out",
            fitter.budget,
            floor,
        )
        spans = []
        recent = [
            s for s in slots if s.kind in ("tool_output", "user_text") and id(s) not in stubbed
        ]
    paths: dict[int, list[Path]] = {}
    if spans:
        for s in slots:
            paths.setdefault(s.index, []).append(s.path)
    replaced: list[tuple[int, Message, int]] = []
    if earlier in spans:
        replaced += fitter.leave_out_turns(*earlier, step, paths)
    if fitter.over:
        fitter.cut_largest([s for s in recent if s.kind == "tool_output"])
    if fitter.over:
        fitter.cut_largest([s for s in recent if s.kind == "user_text"])
    if fitter.over and kept in spans:
        replaced += fitter.leave_out_turns(*kept, step, paths)
    if fitter.over and current in spans:
        replaced += fitter.leave_out_turns(*current, step, paths)
    if fitter.over and replaced:
        logger.info(  # why; compress() warns once that the request is over
            "headroom: %d tokens do not fit the window's %d even with earlier turns left out;"
            " sending them without leaving them out",
            fitter.total,
            fitter.budget,
        )
        fitter.undo(replaced)


def fit(
    messages: Sequence[Message],
    sizes: Sequence[int],
    budget: int,
    cfg: CompressConfig,
    store: CCRStore,
    measure: Callable[[Message], int],
    count: Callable[[str], int],
    originals: Sequence[Message] | None = None,
) -> Fitted | None:
    """Stub, then cut, until the request fits `budget` tokens; None when it already fits.

    `sizes` are the messages' token counts (as `measure` gives them).

    `originals` (the messages before compression, same positions) supply the
    texts stubs store for retrieval; without them the current texts are stored.
    """
    out = list(messages)

    def original_of(slot: Slot) -> str:
        if originals is None or slot.index >= len(originals):
            return slot.text
        original = text_at(originals[slot.index], slot.path)
        return slot.text if original is None else original

    fitter = Fitter(
        out,
        sizes,
        budget,
        store,
        measure,
        count,
        original_of,
        cfg.markers_name_tool,
    )
    if not fitter.over:
        return None
    stop, last_question = protected_from(out, cfg.keep_last_turns)
    slots = find_slots(out)
    old = [
        s
        for s in slots
        if s.index < stop and len(s.text) >= _MIN_STUB_CHARS and not is_stub(s.text)
    ]
    tools = [s for s in old if s.kind == "tool_output"]
    prose = [
        s for s in old if s.kind in ("user_text", "assistant_text") and s.index != last_question
    ]
    step = max(1, int(budget * STEP_SHARE))
    for group in (tools, prose):
        if fitter.over:
            fitter.stub_in_steps(group, step)
    if fitter.over:
        _fit_small_messages(fitter, slots, old, stop, last_question, step)
    notes = []
    if fitter.stubbed:
        notes.append(f"window:stubbed {fitter.stubbed}")
    if fitter.cut:
        notes.append(f"window:cut {fitter.cut}")
    left_out = sum(n for n, _ in fitter.left_out.values())
    if left_out:
        notes.append(f"window:left_out {left_out}")
    return Fitted(fitter.out, fitter.sizes, fitter.hashes, notes)
