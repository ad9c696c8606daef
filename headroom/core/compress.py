"""`compress()`: the pipeline every integration calls.

It reads as its stages: validate, find the slots (tool outputs, pasted
context) and what each was fetched for (one forward pass), compress each slot,
recall, align, fit the window. Each slot is compressed as a function of its
own bytes and of what *preceded* it (the user's question, the tool call's
arguments), and memoized by those (`headroom.core.memo`), so re-sent history
compresses to the same bytes at the cost of a lookup and the provider's prompt
cache keeps hitting. What the newest question needs from earlier,
already-compressed outputs is surfaced after it (recall) instead of rewriting
the cached prefix.
"""

from __future__ import annotations

import itertools
import logging
import sys
import weakref
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from headroom.core import memo, window
from headroom.core.cache_align import align_system_prompt
from headroom.core.ccr import is_retrieve_name
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
from headroom.core.recall import RECALL_MARK, build_recall
from headroom.core.relevance import Relevance
from headroom.core.result import CompressionResult
from headroom.core.store import CCRStore, get_default_store
from headroom.core.tokens import MESSAGE_OVERHEAD, TokenCounter, counter_for_model
from headroom.core.transforms import compress_text, is_own_output, is_structured
from headroom.core.transforms.base import Job
from headroom.exceptions import CompressionError

__all__ = ["compress"]

logger = logging.getLogger("headroom")

_DEFAULT_CONFIG = CompressConfig()

#: Relevance costs (question terms x output size); the first and last 2,000
#: characters of a question or of a call's arguments carry what it asks for.
_CONTEXT_HEAD = 2000
_CONTEXT_TAIL = 2000
#: Pasted context smaller than this (in tokens) reads as prose and is left alone.
_USER_CONTEXT_MIN_TOKENS = 1000
#: Recall reads the originals of at most this many of the latest lossy outputs
#: before a question, and at most this many characters of them: what one
#: question reads is bounded, so a conversation costs time linear in its length.
#: Older outputs stay retrievable by the hash their marker names.
_RECALL_OUTPUTS = 32
_RECALL_CHARS = 4 * 2**20


@dataclass(frozen=True)
class _SlotOutcome:
    text: str | None  # None: leave the slot as it is
    name: str
    lossy: bool
    tokens_before: int
    tokens_after: int


@dataclass(frozen=True)
class _Tokens:
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
class _Task:
    """One slot to compress and what it was fetched for."""

    slot: Slot
    context: tuple[str, ...]
    bias: float


@dataclass
class _Lossy:
    """A slot compressed with loss: what recall may surface from."""

    index: int
    ccr_hash: str
    original: str
    compressed: str
    call: str


@dataclass
class _Outcome:
    """What the stages produced so far."""

    messages: list[Message]
    applied: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    lossy: list[_Lossy] = field(default_factory=list)


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
        A `CompressionResult`. On an internal error, whatever a tokenizer or a
        parser raised (a Rust panic included), the input is returned unchanged
        and the failure is logged (unless `config.fail_open` is off).

    Raises:
        ValidationError: `messages` is not a list of dicts with roles.
    """
    cfg = config or _DEFAULT_CONFIG
    validate_messages(messages)
    tokens: _Tokens | None = None
    try:
        tokens = _Tokens(
            token_counter or counter_for_model(model), _counter_id(model, token_counter)
        )
        return _run(list(messages), model, model_limit, cfg, hooks, store, tokens)
    except BaseException as exc:
        if _is_interrupt(exc):
            raise
        if not cfg.fail_open:
            raise CompressionError(f"compression failed: {exc}") from exc
        logger.warning("headroom: compression failed, sending the original messages", exc_info=True)
        return _failed_open(messages, tokens, exc)


def _is_interrupt(exc: BaseException) -> bool:
    """Process control (Ctrl-C, exit, task cancellation) is never swallowed."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        return True
    asyncio = sys.modules.get("asyncio")  # not imported here: `import headroom` stays fast
    return asyncio is not None and isinstance(exc, asyncio.CancelledError)


def _failed_open(
    messages: Sequence[Message], tokens: _Tokens | None, exc: BaseException
) -> CompressionResult:
    try:
        before = tokens.messages(messages) if tokens is not None else 0
    except BaseException as count_exc:
        if _is_interrupt(count_exc):
            raise
        before = 0
    return CompressionResult(
        messages=list(messages),
        tokens_before=before,
        tokens_after=before,
        transforms_applied=[f"fail_open:{type(exc).__name__}"],
    )


_counter_ids: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_fresh_ids = itertools.count()


def _counter_id(model: str, token_counter: TokenCounter | None) -> str:
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


def _run(
    original: list[Message],
    model: str,
    model_limit: int | None,
    cfg: CompressConfig,
    hooks: CompressionHooks | None,
    store: CCRStore | None,
    tokens: _Tokens,
) -> CompressionResult:
    store = store if store is not None else get_default_store()
    sizes = [tokens.message(m) for m in original]
    tokens_before = sum(sizes)
    ctx = _build_context(original, model) if hooks is not None else None

    work, protected, biases = original, set[int](), dict[int, float]()
    if hooks is not None and ctx is not None:
        work = list(_call_hook(hooks.pre_compress, original, [original, ctx]))
        validate_messages(work)
        sizes = _sizes(work, original, sizes, tokens)
        protected = set(_call_hook(hooks.protect_messages, set(), [work, ctx]))
        biases = dict(_call_hook(hooks.compute_biases, {}, [work, ctx]))

    tasks, _ = _plan(work, cfg, protected, biases)
    state = _compress_slots(work, tasks, cfg, store, tokens)
    if cfg.recall and state.lossy:
        _recall(state, cfg, tokens)
    if cfg.cache_align:
        _align(state)
    sizes = _sizes(state.messages, work, sizes, tokens)
    sizes = _fit_window(state, work, sizes, model, model_limit, cfg, store, tokens)

    out = state.messages
    tokens_after = sum(sizes)
    if tokens_after >= tokens_before and not state.applied:
        out, tokens_after = list(original), tokens_before
    result = CompressionResult(
        messages=out,
        tokens_before=tokens_before,
        tokens_after=tokens_after,
        transforms_applied=state.applied,
        ccr_hashes=list(dict.fromkeys(state.hashes)),
    )
    if hooks is not None and ctx is not None:
        event = CompressEvent(
            context=ctx,
            tokens_before=tokens_before,
            tokens_after=tokens_after,
            transforms_applied=tuple(state.applied),
            ccr_hashes=tuple(result.ccr_hashes),
            messages=out,
        )
        _call_hook(hooks.post_compress, None, [event])
    return result


def _sizes(
    messages: Sequence[Message], reference: Sequence[Message], sizes: list[int], tokens: _Tokens
) -> list[int]:
    """Token sizes of `messages`, reusing `sizes` of `reference` wherever a message
    is the very same object (each stage replaces only the messages it changes)."""
    n = len(reference)
    return [
        sizes[i] if i < n and m is reference[i] else tokens.message(m)
        for i, m in enumerate(messages)
    ]


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


def _call_hook(fn: Any, default: Any, args: list[Any]) -> Any:
    try:
        value = fn(*args)
    except Exception:
        logger.warning(
            "headroom: hook %s raised; ignoring it", getattr(fn, "__name__", fn), exc_info=True
        )
        return default
    return default if value is None else value


# -- stage: find the slots and what each was fetched for ---------------------------


def _clip(text: str) -> str:
    """What relevance reads of a question or of a call's arguments (see `_CONTEXT_HEAD`)."""
    if len(text) <= _CONTEXT_HEAD + _CONTEXT_TAIL:
        return text
    return f"{text[:_CONTEXT_HEAD]}\n{text[-_CONTEXT_TAIL:]}"


def _plan(
    messages: Sequence[Message],
    cfg: CompressConfig,
    protected: set[int],
    biases: Mapping[int, float],
) -> tuple[list[_Task], int]:
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
    tasks: list[_Task] = []
    question = ""
    min_tokens = (_min_tokens(cfg, "user_text"), _min_tokens(cfg, "tool_output"))
    for index, group in groups:
        prose = [s for s in group if s.kind == "user_text"]
        for slot in group:
            # A token spans at least one character: shorter slots are below the minimum.
            if len(slot.text) < min_tokens[slot.kind == "tool_output"]:
                continue
            if index in protected or not _eligible(slot, cfg, last_question):
                continue
            if slot.kind == "user_text":
                own = "\n".join(s.text for s in prose if s is not slot and s.text.strip())
                context = [own or question]
            else:
                context = [question]
            if slot.tool_args:
                context.append(slot.tool_args)
            bias = float(biases.get(index, 1.0))
            tasks.append(_Task(slot, tuple(_clip(c) for c in context if c), bias))
        said = "\n".join(s.text for s in prose)
        if said.strip():
            question = said
    return tasks, last_question


def _eligible(slot: Slot, cfg: CompressConfig, last_question: int) -> bool:
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


# -- stage: compress each slot --------------------------------------------------


def _compress_slots(
    messages: list[Message],
    tasks: Sequence[_Task],
    cfg: CompressConfig,
    store: CCRStore,
    tokens: _Tokens,
) -> _Outcome:
    state = _Outcome(messages)
    replacements: dict[tuple[int, Path], str] = {}
    lossless_cfg: CompressConfig | None = None
    for task in tasks:
        slot = task.slot
        outcome = _compress_slot(task, cfg, tokens)
        ccr_hash = memo.ccr_hash(slot.text) if outcome.lossy else ""
        if outcome.lossy and cfg.ccr and not _stored(store, ccr_hash, slot.text):
            # No original to hand back: fall back to what loses nothing.
            lossless_cfg = lossless_cfg or cfg.replace(lossy=False)
            outcome = _compress_slot(task, lossless_cfg, tokens)
        if outcome.text is None:
            continue
        replacements[(slot.index, slot.path)] = outcome.text
        state.applied.append(outcome.name)
        if outcome.lossy:
            if cfg.ccr:
                state.hashes.append(ccr_hash)
            call = f"{slot.tool_name or ''} {slot.tool_args or ''}"
            state.lossy.append(_Lossy(slot.index, ccr_hash, slot.text, outcome.text, call))
    state.messages = replace_slots(messages, replacements)
    return state


def _stored(store: CCRStore, key: str, original: str) -> bool:
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


def _compress_slot(task: _Task, cfg: CompressConfig, tokens: _Tokens) -> _SlotOutcome:
    slot = task.slot
    text = slot.text
    before = tokens.text(text)
    if before < _min_tokens(cfg, slot.kind):
        return _SlotOutcome(None, "", False, before, before)
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
    outcome = _SlotOutcome(None, "", False, before, before)
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
                outcome = _SlotOutcome(result.text, result.name, result.lossy, before, after)
    memo.slot_memo.put(key, outcome, len(outcome.text or ""))
    return outcome


# -- stage: recall ----------------------------------------------------------------


def _recall(state: _Outcome, cfg: CompressConfig, tokens: _Tokens) -> None:
    """Append to each user question what it needs from earlier lossy outputs.

    A question reads only the latest lossy outputs before it (`_RECALL_OUTPUTS`,
    `_RECALL_CHARS`), so its recall depends on the history before it alone and
    stays the same bytes when the conversation is re-sent.
    """
    out = state.messages
    pending: Iterator[_Lossy] = iter(state.lossy)  # in message order
    upcoming = next(pending, None)
    recent: deque[_Lossy] = deque()
    chars = 0
    for i, message in enumerate(out):
        while upcoming is not None and upcoming.index < i:
            recent.append(upcoming)
            chars += len(upcoming.original)
            while len(recent) > _RECALL_OUTPUTS or (len(recent) > 1 and chars > _RECALL_CHARS):
                chars -= len(recent.popleft().original)
            upcoming = next(pending, None)
        if not recent:
            continue
        question = user_text(message)
        if not question.strip() or RECALL_MARK in question:
            continue
        question = _clip(question)
        earlier = [(e.ccr_hash, e.original, e.compressed, e.call) for e in recent]
        key = (
            "recall",
            memo.text_key(question),
            tuple((e.ccr_hash, memo.text_key(e.compressed)) for e in recent),
            cfg.fingerprint(),
            tokens.counter_id,
        )
        text = memo.slot_memo.get(key)
        if text is None:
            text = build_recall(question, earlier, cfg.max_recall_tokens, tokens.text)
            memo.slot_memo.put(key, text, len(text))
        if text:
            out[i] = append_text(message, text)
            state.applied.append("recall")


# -- stage: align -----------------------------------------------------------------


def _align(state: _Outcome) -> None:
    aligned = align_system_prompt(state.messages)
    if aligned is not None:
        state.messages = aligned
        state.applied.append("cache_align")


# -- stage: fit the window ------------------------------------------------------------


def _fit_window(
    state: _Outcome,
    work: Sequence[Message],
    sizes: list[int],
    model: str,
    model_limit: int | None,
    cfg: CompressConfig,
    store: CCRStore,
    tokens: _Tokens,
) -> list[int]:
    """Fit `state.messages` into the window; their token sizes afterwards."""
    limit = model_limit if model_limit is not None else window.context_window(model)
    if limit is None:
        return sizes
    budget = max(0, limit - cfg.output_reserve)
    fitted = window.fit(
        state.messages, sizes, budget, cfg, store, tokens.message, tokens.text, work
    )
    if fitted is None:
        return sizes
    state.messages = fitted.messages
    state.applied.extend(fitted.notes)
    state.hashes.extend(fitted.hashes)
    return fitted.sizes
