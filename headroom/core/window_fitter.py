"""The request being fitted and the edits that shrink it: stubbing outputs in steps,
cutting the largest, leaving out whole turns (and undoing that), each keeping the
running token total exact without measuring messages again."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence

from headroom.core.memo import ccr_hash
from headroom.core.messages import Message, Path, Slot, replace_slots, text_at
from headroom.core.store import CCRStore
from headroom.core.transforms.base import marker
from headroom.core.window_texts import LEFT_OUT, WINDOW_PHRASE, cut_to_fit, left_out_summary
from headroom.core.window_turns import KEPT_ROLES, group_starts

__all__ = ["MIN_CUT_TOKENS", "Fitter"]

logger = logging.getLogger("headroom")

#: A cut output keeps at least this many tokens (its head and tail).
MIN_CUT_TOKENS = 256


class Fitter:
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

    def _swap(self, i: int, path: Path, text: str, tokens: int) -> None:
        """Put `text` at `path` of message `i`, whose current text there costs `tokens`.
        A text is one piece of its message's count, so the size moves by the difference:
        a re-sent history stubs thousands of outputs without measuring a message again."""
        self.out[i] = replace_slots([self.out[i]], {(0, path): text})[0]
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
                summary = f"{what} ({len(slot.text)} chars) moved out {WINDOW_PHRASE}"
                self._swap(
                    slot.index, slot.path, marker(summary, key if self.name_tool else None), tokens
                )
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
        if self.out[i].get("role") in KEPT_ROLES:
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
        starts = group_starts(self.out, lo, hi)
        undo: list[tuple[int, Message, int]] = []
        # Room for the marker the first message left out carries: a 16-character hash
        # alternating digits and letters costs the most tokens one can.
        reserve = self.count(marker(left_out_summary(len(self.out)), "0a" * 8))
        position = edge = 0
        g = 0
        while self.total + reserve > self.budget and g < len(starts):
            edge += step
            while g < len(starts) and position < edge:
                start = starts[g]
                stop = starts[g + 1] if g + 1 < len(starts) else hi
                position += sum(self.sizes[start:stop])
                for i in range(start, stop):
                    if self.out[i].get("role") in KEPT_ROLES:
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
        note = marker(left_out_summary(len(undo)), key if self.name_tool else None)
        self._swap(first, paths[first][0], note, self.left_out_tokens)

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
