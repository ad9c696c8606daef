"""Slots: what to compress in a conversation, and compressing one of them.

`compress()` plans every slot of a conversation (`plan`) and compresses each;
`compress_output()` compresses one output seen on its own. Both compress
through `compress_stored`, so an output compresses the same either way: same
transforms, same memo key, same CCR storage and lossless fallback.
"""

from __future__ import annotations

import itertools
import logging
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from headroom.core import memo
from headroom.core.ccr import is_retrieve_name
from headroom.core.config import CompressConfig
from headroom.core.messages import Message, Slot, find_slots, message_pieces
from headroom.core.recall import RECALL_MARK
from headroom.core.relevance import Relevance
from headroom.core.store import CCRStore
from headroom.core.tokens import MESSAGE_OVERHEAD, TokenCounter
from headroom.core.transforms import compress_text, is_own_output, is_structured
from headroom.core.transforms.base import Job

__all__ = [
    "SlotOutcome",
    "SlotTask",
    "Tokens",
    "clip",
    "compress_slot",
    "compress_stored",
    "counter_id",
    "eligible",
    "plan",
    "store_original",
]

logger = logging.getLogger("headroom")

#: Relevance costs (question terms x output size); the first and last 2,000
#: characters of a question or of a call's arguments carry what it asks for.
_CONTEXT_HEAD = 2000
_CONTEXT_TAIL = 2000
#: Pasted context smaller than this (in tokens) reads as prose and is left alone.
_USER_CONTEXT_MIN_TOKENS = 1000


@dataclass(frozen=True)
class SlotOutcome:
    """One slot's compressed text (None: leave it as it is) and what it cost."""

    text: str | None  # None: leave the slot as it is
    name: str
    lossy: bool
    tokens_before: int
    tokens_after: int


@dataclass(frozen=True)
class Tokens:
    """The token counter of this call, memoized across calls by `counter_id`."""

    count: TokenCounter
    counter_id: str

    def text(self, text: str) -> int:
        return memo.count_tokens(text, self.count, self.counter_id)

    def message(self, message: Mapping[str, Any]) -> int:
        pieces, extra = message_pieces(message)
        return MESSAGE_OVERHEAD + extra + sum(self.text(p) for p in pieces)

    def messages(self, messages: Sequence[Mapping[str, Any]]) -> int:
        return sum(self.message(m) for m in messages)


@dataclass(frozen=True)
class SlotTask:
    """One slot to compress and what it was fetched for."""

    slot: Slot
    context: tuple[str, ...]
    bias: float


_counter_ids: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_fresh_ids = itertools.count()


def counter_id(model: str, token_counter: TokenCounter | None) -> str:
    """The memo namespace of a counter: the model's, or one per custom counter object
    (held weakly, so a new counter never inherits a collected one's counts)."""
    if token_counter is None:
        return model
    try:
        known = _counter_ids.get(token_counter)
        if known is None:
            known = _counter_ids.setdefault(token_counter, f"custom:{next(_fresh_ids)}")
        return known
    except TypeError:  # not weakly referenceable: no memo across calls
        return f"custom-once:{next(_fresh_ids)}"


# -- stage: find the slots and what each was fetched for ---------------------------


def clip(text: str) -> str:
    """What relevance reads of a question or of a call's arguments (see `_CONTEXT_HEAD`)."""
    if len(text) <= _CONTEXT_HEAD + _CONTEXT_TAIL:
        return text
    return f"{text[:_CONTEXT_HEAD]}\n{text[-_CONTEXT_TAIL:]}"


def plan(
    messages: Sequence[Message],
    cfg: CompressConfig,
    protected: set[int],
    biases: Mapping[int, float],
) -> tuple[list[SlotTask], int]:
    """Every slot to compress with its context, in one forward pass over the messages.

    A tool output's context is the latest user prose before its message (every
    output after a question gets that question, not only the first) and its
    call's arguments. A pasted context's is the rest of its own message, else
    the question before it. Returns the tasks and the index of the last
    message with user prose (never compressed: it is the question).
    """
    groups = [
        (index, list(group))
        for index, group in itertools.groupby(find_slots(messages), key=lambda s: s.index)
    ]
    last_question = -1
    for index, group in groups:
        if any(s.kind == "user_text" and s.text.strip() for s in group):
            last_question = index
    tasks: list[SlotTask] = []
    question = ""
    min_tokens = (_min_tokens(cfg, "user_text"), _min_tokens(cfg, "tool_output"))
    for index, group in groups:
        prose = [s for s in group if s.kind == "user_text"]
        for slot in group:
            # A token spans at least one character: shorter slots are below the minimum.
            if len(slot.text) < min_tokens[slot.kind == "tool_output"]:
                continue
            if index in protected or not eligible(slot, cfg, last_question):
                continue
            if slot.kind == "user_text":
                own = "\n".join(s.text for s in prose if s is not slot and s.text.strip())
                context = [own or question]
            else:
                context = [question]
            if slot.tool_args:
                context.append(slot.tool_args)
            bias = float(biases.get(index, 1.0))
            tasks.append(SlotTask(slot, tuple(clip(c) for c in context if c), bias))
        said = "\n".join(s.text for s in prose)
        if said.strip():
            question = said
    return tasks, last_question


def eligible(slot: Slot, cfg: CompressConfig, last_question: int) -> bool:
    """Whether `slot` may be compressed: not protected, not the question, not the
    retrieved original the model is working with, not the core's own output."""
    if slot.kind == "tool_output":
        if slot.tool_name in cfg.protect_tools:
            return False
        # A retrieved original stays whole while the model works with it; once a later
        # question follows, it is compressed like any output (one re-read of the
        # cache, then cheaper every turn: bench/retrieve_turns.py).
        if is_retrieve_name(slot.tool_name) and slot.index >= last_question:
            return False
    elif slot.kind != "user_text" or not cfg.compress_user_context or slot.index == last_question:
        return False
    # Already compressed: compress() is idempotent on its own output.
    return not is_own_output(slot.text) and RECALL_MARK not in slot.text


def compress_stored(
    task: SlotTask, cfg: CompressConfig, store: CCRStore, tokens: Tokens
) -> tuple[SlotOutcome, str]:
    """`task` compressed, with the original stored under its CCR hash when the result
    is lossy; (outcome, that hash, "" unless the outcome is lossy).

    With CCR on and the store failing, there is no original to hand back: the
    slot is compressed again with what loses nothing.
    """
    outcome = compress_slot(task, cfg, tokens)
    ccr_hash = memo.ccr_hash(task.slot.text) if outcome.lossy else ""
    if outcome.lossy and cfg.ccr and not store_original(store, ccr_hash, task.slot.text):
        outcome = compress_slot(task, cfg.replace(lossy=False), tokens)
    return outcome, ccr_hash if outcome.lossy else ""


def store_original(store: CCRStore, key: str, original: str) -> bool:
    """Store `original` under `key`; False (logged) when the store fails."""
    try:
        store.put(key, original)
    except Exception:
        logger.warning("headroom: CCR store failed; compressing losslessly instead", exc_info=True)
        return False
    return True


def _min_tokens(cfg: CompressConfig, kind: str) -> int:
    return (
        cfg.min_tokens if kind == "tool_output" else max(cfg.min_tokens, _USER_CONTEXT_MIN_TOKENS)
    )


def compress_slot(task: SlotTask, cfg: CompressConfig, tokens: Tokens) -> SlotOutcome:
    """One slot through its kind's transform, memoized by its bytes, its context,
    the config and the counter; never larger than the slot was."""
    slot = task.slot
    text = slot.text
    before = tokens.text(text)
    if before < _min_tokens(cfg, slot.kind):
        return SlotOutcome(None, "", False, before, before)
    key = (
        memo.text_key(text),
        tuple(memo.text_key(c) for c in task.context),
        cfg.fingerprint(),
        task.bias,
        slot.kind,
        tokens.counter_id,
    )
    cached = memo.slot_memo.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    outcome = SlotOutcome(None, "", False, before, before)
    if slot.kind != "user_text" or is_structured(text):
        job = Job(
            text=text,
            relevance=Relevance.from_texts(list(task.context)),
            config=cfg,
            ccr_hash=memo.ccr_hash(text) if cfg.ccr and cfg.markers_name_tool else "",
            bias=task.bias,
            tool_name=slot.tool_name,
        )
        result = compress_text(job)
        # A lossy result is only sent when loss is allowed (a transform that
        # ignores `lossy=False` is overruled here, in one place).
        if result is not None and result.text != text and (cfg.lossy or not result.lossy):
            after = tokens.text(result.text)
            if after < before:  # never inflate
                outcome = SlotOutcome(result.text, result.name, result.lossy, before, after)
    memo.slot_memo.put(key, outcome, len(outcome.text or ""))
    return outcome
