"""RollingWindow: make a request fit the model's context window.

Only when a request is over `model_limit - output_reserve`. Three steps, each
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
3. Then whole turns are left out, oldest first, in the same steps: a request
   made of many small messages has no single text worth stubbing. A call and
   its results go together; the system prompt and the latest user turn stay.
   The first message left out names how many were and the CCR hash of their
   originals (as JSON).
4. What still does not fit, such as one output larger than the window in the
   latest turn, is cut to its head and tail around a retrievable marker; then
   the older exchanges of the latest turn are left out like whole turns.

No message is removed (every integration maps results back by position): a
message left out keeps its role, ids and tool calls, and its texts shrink to
a few tokens, so the message count and every tool pairing are preserved. If
even that cannot fit, whole-turn removal is undone and a warning is logged:
the request goes out as the earlier steps left it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from headroom.core.config import CompressConfig
from headroom.core.memo import ccr_hash
from headroom.core.messages import (
    Message,
    Path,
    Slot,
    find_slots,
    replace_slots,
    text_at,
    user_text,
)
from headroom.core.store import CCRStore
from headroom.core.tokens import MESSAGE_OVERHEAD
from headroom.core.transforms.base import marker

__all__ = [
    "LEFT_OUT",
    "MIN_CUT_TOKENS",
    "STEP_SHARE",
    "Fitted",
    "context_window",
    "cut_to_fit",
    "fit",
]

logger = logging.getLogger("headroom")

#: Share of the budget one stubbing step frees. Each step breaks the cached
#: prefix once, so larger steps break it less often but keep less history
#: verbatim. Measured on a 200-round agent loop at a 128k window
#: (bench/agent_loop.py): a quarter breaks it 20 times per 100 turns and costs
#: 0.30x of uncached input, a half 10 times and 0.22x, three quarters 0.22x
#: while keeping least; half keeps between half and all of the window in use.
STEP_SHARE = 0.5
#: A cut output keeps at least this many tokens (its head and tail).
MIN_CUT_TOKENS = 256
#: Slots shorter than this are not worth a stub (a stub is ~40 tokens).
_MIN_STUB_CHARS = 200
#: An agent loop answering one question runs many tool rounds; beyond the last
#: `keep_last_turns` user turns, only this many rounds per kept turn stay verbatim.
_ROUNDS_PER_TURN = 2
#: A cut keeps more of the head (where outputs state what they are) than of the tail.
_HEAD_SHARE = 2 / 3
_WINDOW_PHRASE = "to fit the context window"
#: What each text of a message left out becomes: an ellipsis, one token and not
#: empty (Anthropic rejects empty text blocks), so the message costs little more
#: than its framing; the first one left out carries the marker that explains.
LEFT_OUT = "\u2026"

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


@dataclass
class Fitted:
    """A request made to fit: the messages, their token sizes, the hashes stubs name,
    what was done."""

    messages: list[Message]
    sizes: list[int]
    hashes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _protected_from(messages: Sequence[Message], keep_last_turns: int) -> tuple[int, int]:
    """Where the kept tail starts, and the index of the latest question.

    The tail is the last `keep_last_turns` user turns, but at most their share
    of model rounds (assistant messages) when one turn holds a long agent loop.
    Both bounds only move forward as a conversation grows, so what was
    stubbable stays stubbable and earlier stubs never come back.
    """
    turns = rounds = 0
    turn_start = round_start = 0
    last_question = -1
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if turns < keep_last_turns and user_text(message).strip():
            turns += 1
            turn_start = i
            if last_question < 0:
                last_question = i
        if rounds < keep_last_turns * _ROUNDS_PER_TURN and message.get("role") == "assistant":
            rounds += 1
            round_start = i
        if turns >= keep_last_turns and rounds >= keep_last_turns * _ROUNDS_PER_TURN:
            break
    if last_question < 0:
        last_question = next(
            (i for i in range(len(messages) - 1, -1, -1) if user_text(messages[i]).strip()), -1
        )
    if rounds < keep_last_turns * _ROUNDS_PER_TURN:
        round_start = 0
    return max(turn_start, round_start), last_question


class _Fitter:
    """The request being fitted and its running token total."""

    def __init__(
        self,
        messages: list[Message],
        sizes: Sequence[int],
        budget: int,
        store: CCRStore,
        measure: Callable[[Message], int],
        count: Callable[[str], int],
        originals: Callable[[Slot], str],
        name_tool: bool = True,
    ) -> None:
        self.out = messages
        self.name_tool = name_tool  # markers name headroom_retrieve only when it is offered
        self.budget = budget
        self.store = store
        self.measure = measure
        self.count = count
        self.originals = originals
        self.sizes = list(sizes)
        self.total = sum(sizes)
        self.hashes: list[str] = []
        self.stubbed = 0
        self.cut = 0
        self.left_out: dict[int, tuple[int, str | None]] = {}  # range start -> (count, hash)
        self.left_out_tokens = count(LEFT_OUT)

    @property
    def over(self) -> bool:
        return self.total > self.budget

    def _replace(self, slot: Slot, text: str) -> None:
        i = slot.index
        self.out[i] = replace_slots([self.out[i]], {(0, slot.path): text})[0]
        size = self.measure(self.out[i])
        self.total += size - self.sizes[i]
        self.sizes[i] = size

    def _swap(self, slot: Slot, text: str, tokens: int) -> None:
        """Put `text` in `slot`, whose current text costs `tokens`. A text is one piece
        of its message's count, so the size moves by the difference: a re-sent history
        stubs thousands of outputs without measuring a message again."""
        i = slot.index
        self.out[i] = replace_slots([self.out[i]], {(0, slot.path): text})[0]
        grown = self.count(text) - tokens
        self.sizes[i] += grown
        self.total += grown

    def _keep(self, slot: Slot) -> str | None:
        """Store the slot's original; its hash, or None when the store failed."""
        return self._keep_text(self.originals(slot))

    def _keep_text(self, original: str) -> str | None:
        """Store `original`; its hash, or None when the store failed."""
        key = ccr_hash(original)
        try:
            self.store.put(key, original)
        except Exception:
            logger.warning(
                "headroom: CCR store failed; the stub cannot be retrieved", exc_info=True
            )
            return None
        self.hashes.append(key)
        return key

    def stub_in_steps(self, slots: Sequence[Slot], step: int) -> None:
        """Stub `slots` (oldest first) up to the first grid line that makes the request fit."""
        position = edge = 0
        j = 0
        while self.over and j < len(slots):
            edge += step
            while j < len(slots) and position < edge:
                slot = slots[j]
                tokens = self.count(slot.text)
                position += tokens
                what = (
                    f"output of {slot.tool_name}"
                    if slot.tool_name
                    else f"earlier {slot.kind.split('_')[0]} message"
                )
                key = self._keep(slot)
                summary = f"{what} ({len(slot.text)} chars) moved out {_WINDOW_PHRASE}"
                self._swap(slot, marker(summary, key if self.name_tool else None), tokens)
                self.stubbed += 1
                j += 1

    def cut_largest(self, slots: Sequence[Slot]) -> None:
        """Cut the largest of `slots` to their head and tail until the request fits."""
        # A token spans at least one character: shorter slots cannot be cut.
        cuttable = [s for s in slots if len(s.text) > MIN_CUT_TOKENS]
        sized = sorted(((self.count(s.text), s) for s in cuttable), key=lambda p: -p[0])
        for size, slot in sized:
            if not self.over:
                break
            target = max(MIN_CUT_TOKENS, size - (self.total - self.budget))
            if target >= size:
                continue
            key = self._keep(slot)
            named = key if self.name_tool else None
            self._replace(slot, cut_to_fit(slot.text, target, self.count, named))
            self.cut += 1

    def saving(self, i: int, paths: Sequence[Path]) -> int:
        """Tokens leaving out message `i` frees: its texts (at `paths`) become `LEFT_OUT`.

        A message's size is its framing plus the counts of its pieces, the texts
        among them, so this is exact without building or measuring the message.
        """
        if self.out[i].get("role") in _KEPT_ROLES:
            return 0
        message = self.out[i]
        return sum(self.count(text_at(message, p) or "") - self.left_out_tokens for p in paths)

    def leave_out_turns(
        self, lo: int, hi: int, step: int, paths: Mapping[int, Sequence[Path]]
    ) -> list[tuple[int, Message, int]]:
        """Leave out whole groups of messages in `[lo, hi)` (oldest first) up to the first
        grid line that makes the request fit; what was replaced, to undo it.

        `paths` are the text paths of each message (`find_slots`).
        """
        starts = _group_starts(self.out, lo, hi)
        undo: list[tuple[int, Message, int]] = []
        # Room for the marker the first message left out carries: a 16-character hash
        # alternating digits and letters costs the most tokens one can.
        reserve = self.count(marker(_left_out_summary(len(self.out)), "0a" * 8))
        position = edge = 0
        g = 0
        while self.total + reserve > self.budget and g < len(starts):
            edge += step
            while g < len(starts) and position < edge:
                start = starts[g]
                stop = starts[g + 1] if g + 1 < len(starts) else hi
                position += sum(self.sizes[start:stop])
                for i in range(start, stop):
                    if self.out[i].get("role") in _KEPT_ROLES:
                        continue
                    where = paths.get(i, ())
                    saved = self.saving(i, where)
                    undo.append((i, self.out[i], self.sizes[i]))
                    if where:
                        texts = {(0, path): LEFT_OUT for path in where}
                        self.out[i] = replace_slots([self.out[i]], texts)[0]
                        self.sizes[i] -= saved
                        self.total -= saved
                g += 1
        if undo:
            self._mark_left_out(lo, undo, paths)
        return undo

    def _mark_left_out(
        self,
        lo: int,
        undo: Sequence[tuple[int, Message, int]],
        paths: Mapping[int, Sequence[Path]],
    ) -> None:
        """Name, in the first text left out, how many messages were and where they went.

        What is kept for retrieval is those messages as they were before (already
        compressed ones with their own markers): a fraction of the originals.
        """
        key = self._keep_text(json.dumps([m for _, m, _ in undo], ensure_ascii=False, default=str))
        self.left_out[lo] = (len(undo), key)
        first = next((i for i, _, _ in undo if paths.get(i)), None)
        if first is None:
            return
        note = marker(_left_out_summary(len(undo)), key if self.name_tool else None)
        path = paths[first][0]
        self.out[first] = replace_slots([self.out[first]], {(0, path): note})[0]
        grown = self.count(note) - self.left_out_tokens
        self.sizes[first] += grown
        self.total += grown

    def undo(self, replaced: Sequence[tuple[int, Message, int]]) -> None:
        """Put back what `leave_out_turns` replaced (the earliest copy of each message)."""
        for i, message, size in reversed(replaced):
            self.out[i] = message
            self.total += size - self.sizes[i]
            self.sizes[i] = size
        for _, key in self.left_out.values():
            if key is not None and key in self.hashes:
                self.hashes.remove(key)
        self.left_out.clear()


def _left_out_summary(count: int) -> str:
    return f"{count} earlier messages left out {_WINDOW_PHRASE} (as JSON)"


#: Roles never left out: the system prompt and its like hold the policy.
_KEPT_ROLES = frozenset({"system", "developer"})


def _answers_calls(message: Mapping[str, object]) -> bool:
    """A tool result: it goes (or stays) with the call before it."""
    if message.get("role") in ("tool", "function"):
        return True
    content = message.get("content")
    return (
        message.get("role") == "user"
        and isinstance(content, list)
        and any(isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content)
    )


def _makes_calls(message: Mapping[str, object]) -> bool:
    if message.get("tool_calls"):
        return True
    content = message.get("content")
    return isinstance(content, list) and any(
        isinstance(b, Mapping) and b.get("type") == "tool_use" for b in content
    )


def _group_starts(messages: Sequence[Message], lo: int, hi: int) -> list[int]:
    """Where the groups left out together start in `[lo, hi)`: a message, and when
    it makes tool calls, the results that follow it."""
    starts: list[int] = []
    calls = False
    for i in range(lo, hi):
        message = messages[i]
        if starts and calls and _answers_calls(message):
            continue
        starts.append(i)
        calls = _makes_calls(message)
    return starts


def _last_group_start(messages: Sequence[Message], lo: int, hi: int) -> int:
    """The last of `_group_starts(messages, lo, hi)` (`lo` when none), read from the end."""
    if hi <= lo:
        return lo
    j = hi - 1
    while j > lo and _answers_calls(messages[j]):
        j -= 1
    if j == hi - 1 or (_makes_calls(messages[j]) and not _answers_calls(messages[j])):
        return j
    return hi - 1


def _fit_small_messages(
    fitter: _Fitter,
    slots: Sequence[Slot],
    old: Sequence[Slot],
    last_question: int,
    step: int,
) -> None:
    """Leave out whole turns before the latest question, cut what is too large in the
    latest turn, then leave out its older exchanges; undo the leaving out (with a
    warning) when even all of it cannot fit, checked first without building anything."""
    out = fitter.out
    head = next((i for i, m in enumerate(out) if m.get("role") not in _KEPT_ROLES), len(out))
    earlier = (head, max(head, last_question))
    lo = max(head, last_question + 1)
    current = (lo, _last_group_start(out, lo, len(out)))  # the latest exchange stays
    spans = [span for span in (earlier, current) if span[0] < span[1]]
    # A bound from sizes alone first: a message left out still costs its framing,
    # so when those alone exceed the budget (100,000 tiny tool messages), no
    # message need be read.
    left = sum(1 for a, b in spans for i in range(a, b) if out[i].get("role") not in _KEPT_ROLES)
    if spans and left * MESSAGE_OVERHEAD > fitter.budget:
        logger.warning(
            "headroom: the request cannot fit the window's %d tokens even with earlier"
            " turns left out (%d messages cost at least %d tokens of framing); sending it"
            " without leaving them out",
            fitter.budget,
            left,
            left * MESSAGE_OVERHEAD,
        )
        spans = []
        earlier = current = (lo, lo)
    stubbed = {id(s) for s in old}
    recent: list[Slot] = []  # texts of slots not stubbed are unchanged
    floor = fitter.total  # the least the request can cost once all of it is done
    for s in slots:
        i = s.index
        if earlier[0] <= i < earlier[1] or current[0] <= i < current[1]:
            if out[i].get("role") not in _KEPT_ROLES:
                text = text_at(out[i], s.path) or ""
                floor -= fitter.count(text) - fitter.left_out_tokens
        elif s.kind in ("tool_output", "user_text") and id(s) not in stubbed:
            recent.append(s)
            if len(s.text) > MIN_CUT_TOKENS:
                floor -= max(0, fitter.count(s.text) - MIN_CUT_TOKENS)
    if floor > fitter.budget and spans:
        logger.warning(
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
    if fitter.over and current in spans:
        replaced += fitter.leave_out_turns(*current, step, paths)
    if fitter.over and replaced:
        logger.warning(
            "headroom: %d tokens do not fit the window's %d even with earlier turns left out;"
            " sending them without leaving them out",
            fitter.total,
            fitter.budget,
        )
        fitter.undo(replaced)


def _is_stub(text: str) -> bool:
    return len(text) < 600 and _WINDOW_PHRASE in text


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
            f"cut {_WINDOW_PHRASE}: kept the first {len(head)} and the last "
            f"{len(tail)} of {len(text)} characters",
            ccr_hash,
        )
        result = "\n".join(p for p in (head, note, tail) if p)
        if keep == 0 or count(result) <= max_tokens:
            return result
        keep = int(keep * 0.8)


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

    fitter = _Fitter(
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
    stop, last_question = _protected_from(out, cfg.keep_last_turns)
    slots = find_slots(out)
    old = [
        s
        for s in slots
        if s.index < stop and len(s.text) >= _MIN_STUB_CHARS and not _is_stub(s.text)
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
        _fit_small_messages(fitter, slots, old, last_question, step)
    notes = []
    if fitter.stubbed:
        notes.append(f"window:stubbed {fitter.stubbed}")
    if fitter.cut:
        notes.append(f"window:cut {fitter.cut}")
    left_out = sum(n for n, _ in fitter.left_out.values())
    if left_out:
        notes.append(f"window:left_out {left_out}")
    return Fitted(fitter.out, fitter.sizes, fitter.hashes, notes)
