"""`compress()`: the pipeline every integration calls.

Each slot (a tool output, a pasted context) is compressed as a function of its
own bytes and of what *preceded* it (the user's question, the tool call's
arguments), and memoized by those, so re-sent history compresses to the same
bytes at the cost of a lookup and the provider's prompt cache keeps hitting.
What the newest question needs from earlier, already-compressed outputs is
surfaced after it (recall) instead of rewriting the cached prefix.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from headroom.core import window
from headroom.core.cache_align import align_system_prompt
from headroom.core.ccr import content_hash, is_retrieve_name
from headroom.core.config import CompressConfig
from headroom.core.hooks import CompressContext, CompressEvent, CompressionHooks
from headroom.core.messages import (
    Message,
    Path,
    Slot,
    append_text,
    detect_provider,
    find_slots,
    message_pieces,
    replace_slots,
    tool_call_index,
    user_text,
    validate_messages,
)
from headroom.core.recall import build_recall
from headroom.core.relevance import Relevance
from headroom.core.result import CompressionResult
from headroom.core.store import CCRStore, get_default_store
from headroom.core.tokens import MESSAGE_OVERHEAD, TokenCounter, counter_for_model
from headroom.core.transforms import compress_text, is_structured
from headroom.core.transforms.base import Job
from headroom.exceptions import CompressionError

__all__ = ["compress"]

logger = logging.getLogger("headroom")

_DEFAULT_CONFIG = CompressConfig()


@dataclass(frozen=True)
class _SlotOutcome:
    text: str | None  # None: leave the slot as it is
    name: str
    lossy: bool
    tokens_before: int
    tokens_after: int


class _Memo:
    """A bounded, thread-safe LRU keyed by content hashes."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


_slot_memo = _Memo(4096)
_count_memo = _Memo(16384)


def _key(text: str) -> tuple[int, int]:
    """An in-process memo key for a text: str caches its hash, so a re-sent
    history is keyed without reading its bytes again (a digest would)."""
    return hash(text), len(text)


def _ccr_hash(text: str) -> str:
    key = ("ccr", *_key(text))
    cached = _count_memo.get(key)
    if cached is None:
        cached = content_hash(text)
        _count_memo.put(key, cached)
    return str(cached)


def _count(text: str, count: TokenCounter, counter_id: str) -> int:
    if len(text) < 64:
        return count(text)
    key = (counter_id, *_key(text))
    cached = _count_memo.get(key)
    if cached is None:
        cached = count(text)
        _count_memo.put(key, cached)
    return int(cached)


def _message_tokens(message: Mapping[str, Any], count: TokenCounter, counter_id: str) -> int:
    pieces, extra = message_pieces(message)
    return MESSAGE_OVERHEAD + extra + sum(_count(p, count, counter_id) for p in pieces)


def compress(
    messages: Sequence[Message],
    model: str = "gpt-4o",
    *,
    model_limit: int | None = None,
    config: CompressConfig | None = None,
    hooks: CompressionHooks | None = None,
    store: CCRStore | None = None,
    token_counter: TokenCounter | None = None,
) -> CompressionResult:
    """Compress chat messages before they reach the provider.

    Args:
        messages: OpenAI chat messages or Anthropic Messages-API messages (dicts).
            Never mutated; the result has the same shape.
        model: The target model; picks the tokenizer and the default window.
        model_limit: Context window to fit into (stubbing oldest tool exchanges
            first). Defaults to the model's known window, if any.
        config: Transform settings; `CompressConfig()` when omitted.
        hooks: A `CompressionHooks` to steer or observe compression.
        store: Where originals of lossy steps go; the process default if omitted.
        token_counter: Count tokens with this instead of the model's tokenizer.

    Returns:
        A `CompressionResult`. On an internal error the input is returned
        unchanged and the failure is logged (unless `config.fail_open` is off).

    Raises:
        ValidationError: `messages` is not a list of dicts with roles.
    """
    cfg = config or _DEFAULT_CONFIG
    validate_messages(messages)
    count = token_counter or counter_for_model(model)
    counter_id = model if token_counter is None else f"custom:{id(token_counter)}"
    try:
        return _compress(list(messages), model, model_limit, cfg, hooks, store, count, counter_id)
    except Exception as exc:
        if not cfg.fail_open:
            raise CompressionError(f"compression failed: {exc}") from exc
        logger.warning("headroom: compression failed, sending the original messages", exc_info=True)
        try:
            tokens = sum(_message_tokens(m, count, counter_id) for m in messages)
        except Exception:
            tokens = 0
        return CompressionResult(
            messages=list(messages),
            tokens_before=tokens,
            tokens_after=tokens,
            transforms_applied=[f"fail_open:{type(exc).__name__}"],
        )


def _build_context(messages: Sequence[Message], model: str) -> CompressContext:
    prose = [user_text(m) for m in messages]
    questions = [p for p in prose if p.strip()]
    calls = tuple(
        {"id": call_id, "name": name, "arguments": args}
        for call_id, (name, args) in tool_call_index(messages).items()
    )
    return CompressContext(
        model=model,
        provider=detect_provider(messages, model),
        query=questions[-1] if questions else "",
        turn=len(questions),
        tool_calls=calls,
    )


def _compress(
    original: list[Message],
    model: str,
    model_limit: int | None,
    cfg: CompressConfig,
    hooks: CompressionHooks | None,
    store: CCRStore | None,
    count: TokenCounter,
    counter_id: str,
) -> CompressionResult:
    store = store if store is not None else get_default_store()
    ctx = _build_context(original, model)
    tokens_before = sum(_message_tokens(m, count, counter_id) for m in original)

    work = original
    protected: set[int] = set()
    biases: dict[int, float] = {}
    if hooks is not None:
        work = list(_call_hook(hooks.pre_compress, original, [original, ctx]))
        validate_messages(work)
        protected = set(_call_hook(hooks.protect_messages, set(), [work, ctx]))
        biases = dict(_call_hook(hooks.compute_biases, {}, [work, ctx]))

    applied: list[str] = []
    hashes: list[str] = []
    replacements: dict[tuple[int, Path], str] = {}
    lossy_slots: list[tuple[Slot, str, str]] = []  # (slot, ccr hash, compressed text)
    slots = find_slots(work)
    last_question = _last_question_index(work)

    for slot in slots:
        if slot.index in protected or not _eligible(slot, cfg, last_question):
            continue
        # A pasted context is not its own question: look strictly before it.
        start = slot.index - 1 if slot.kind == "user_text" else slot.index
        context_texts = _preceding_question(work, start)
        if slot.tool_args:
            context_texts.append(slot.tool_args)
        bias = float(biases.get(slot.index, 1.0))
        outcome = _compress_slot(slot, context_texts, cfg, bias, count, counter_id)
        if outcome.text is None:
            continue
        replacements[(slot.index, slot.path)] = outcome.text
        applied.append(outcome.name)
        if outcome.lossy:
            ccr_hash = _ccr_hash(slot.text)
            if cfg.ccr and not _stored(store, ccr_hash, slot.text):
                # No original to hand back: fall back to what loses nothing.
                outcome = _compress_slot(
                    slot, context_texts, cfg.replace(lossy=False), bias, count, counter_id
                )
                if outcome.text is None:
                    del replacements[(slot.index, slot.path)]
                    applied.pop()
                    continue
                replacements[(slot.index, slot.path)] = outcome.text
                applied[-1] = outcome.name
            if outcome.lossy:
                if cfg.ccr:
                    hashes.append(ccr_hash)
                lossy_slots.append((slot, ccr_hash, replacements[(slot.index, slot.path)]))

    out = replace_slots(work, replacements)

    if cfg.recall and lossy_slots:
        out = _apply_recall(out, lossy_slots, cfg, count, counter_id, applied)

    if cfg.cache_align:
        aligned = align_system_prompt(out, last_question)
        if aligned is not None:
            out = aligned
            applied.append("cache_align")

    limit = model_limit if model_limit is not None else window.context_window(model)
    if limit is not None:
        budget = max(0, limit - cfg.output_reserve)
        sizes = [_message_tokens(m, count, counter_id) for m in out]
        if sum(sizes) > budget:
            out, stub_hashes = window.fit(
                out, sizes, budget, cfg, store, lambda m: _message_tokens(m, count, counter_id)
            )
            applied.append(f"window:stubbed {len(stub_hashes)}")
            hashes.extend(stub_hashes)

    tokens_after = sum(_message_tokens(m, count, counter_id) for m in out)
    if tokens_after >= tokens_before and not applied:
        out = list(original)
        tokens_after = tokens_before
    result = CompressionResult(
        messages=out,
        tokens_before=tokens_before,
        tokens_after=tokens_after,
        transforms_applied=applied,
        ccr_hashes=list(dict.fromkeys(hashes)),
    )
    if hooks is not None:
        event = CompressEvent(
            context=ctx,
            tokens_before=tokens_before,
            tokens_after=tokens_after,
            transforms_applied=tuple(applied),
            ccr_hashes=tuple(result.ccr_hashes),
            messages=out,
        )
        _call_hook(hooks.post_compress, None, [event])
    return result


def _stored(store: CCRStore, key: str, original: str) -> bool:
    try:
        store.put(key, original)
    except Exception:
        logger.warning("headroom: CCR store failed; compressing losslessly instead", exc_info=True)
        return False
    return True


def _call_hook(fn: Any, default: Any, args: list[Any]) -> Any:
    try:
        value = fn(*args)
    except Exception:
        logger.warning(
            "headroom: hook %s raised; ignoring it", getattr(fn, "__name__", fn), exc_info=True
        )
        return default
    return default if value is None else value


def _last_question_index(messages: Sequence[Message]) -> int:
    for i in range(len(messages) - 1, -1, -1):
        if user_text(messages[i]).strip():
            return i
    return -1


def _preceding_question(messages: Sequence[Message], index: int) -> list[str]:
    """The latest user prose at or before `index`: what the output was fetched for."""
    for i in range(index, -1, -1):
        text = user_text(messages[i])
        if text.strip():
            return [text]
    return []


_MARKS = ("[headroom: ", "[headroom recall:")
# The header a record table starts with (lossless tables carry no marker).
_TABLE_HEAD = re.compile(r"^(?:@table\d+ )?\d+ rows(?:; columns: | \(one JSON object per line\))")


def _eligible(slot: Slot, cfg: CompressConfig, last_question: int) -> bool:
    if any(mark in slot.text for mark in _MARKS) or _TABLE_HEAD.match(slot.text):
        return False  # already compressed: compress() is idempotent on its own output
    if slot.kind == "tool_output":
        if slot.tool_name in cfg.protect_tools:
            return False
        # A retrieved original stays whole while the model works with it; once a later
        # question follows, it is compressed like any output (one re-read of the
        # cache, then cheaper every turn: bench/retrieve_turns.py).
        return not is_retrieve_name(slot.tool_name) or slot.index < last_question
    if slot.kind == "user_text":
        return cfg.compress_user_context and slot.index != last_question
    return False


def _compress_slot(
    slot: Slot,
    context_texts: list[str],
    cfg: CompressConfig,
    bias: float,
    count: TokenCounter,
    counter_id: str,
) -> _SlotOutcome:
    text = slot.text
    before = _count(text, count, counter_id)
    min_tokens = cfg.min_tokens if slot.kind == "tool_output" else max(cfg.min_tokens, 1000)
    if before < min_tokens:
        return _SlotOutcome(None, "", False, before, before)
    key = (
        *_key(text),
        tuple(_key(c) for c in context_texts),
        cfg.fingerprint(),
        bias,
        slot.kind,
        counter_id,
    )
    cached = _slot_memo.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    outcome = _SlotOutcome(None, "", False, before, before)
    if slot.kind != "user_text" or is_structured(text):
        job = Job(
            text=text,
            relevance=Relevance.from_texts(context_texts),
            config=cfg,
            ccr_hash=_ccr_hash(text) if cfg.ccr and cfg.markers_name_tool else "",
            bias=bias,
            tool_name=slot.tool_name,
        )
        result = compress_text(job)
        if result is not None and result.text != text:
            after = _count(result.text, count, counter_id)
            if after < before:  # never inflate
                outcome = _SlotOutcome(result.text, result.name, result.lossy, before, after)
    _slot_memo.put(key, outcome)
    return outcome


def _apply_recall(
    out: list[Message],
    lossy_slots: list[tuple[Slot, str, str]],
    cfg: CompressConfig,
    count: TokenCounter,
    counter_id: str,
    applied: list[str],
) -> list[Message]:
    """Append to each user question what it needs from earlier lossy outputs."""
    for i, message in enumerate(out):
        question = user_text(message)
        if not question.strip() or _MARKS[1] in question:
            continue
        earlier = [
            (h, s.text, c, f"{s.tool_name or ''} {s.tool_args or ''}")
            for s, h, c in lossy_slots
            if s.index < i
        ]
        if not earlier:
            continue
        key = (
            "recall",
            *_key(question),
            tuple(e[0] for e in earlier),
            cfg.fingerprint(),
            counter_id,
        )
        recall = _slot_memo.get(key)
        if recall is None:
            recall = build_recall(
                question, earlier, cfg.max_recall_tokens, lambda t: _count(t, count, counter_id)
            )
            _slot_memo.put(key, recall)
        if recall:
            out[i] = append_text(message, recall)
            applied.append("recall")
    return out
