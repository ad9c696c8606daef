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

Finding the slots and compressing one are `headroom.core.slots` (shared with
`compress_output`); the transforms are reached through their registry
(`headroom.core.transforms`).
"""

from __future__ import annotations

import logging
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from headroom.core import memo, window
from headroom.core.cache_align import align_system_prompt
from headroom.core.config import CompressConfig
from headroom.core.hooks import CompressContext, CompressEvent, CompressionHooks
from headroom.core.messages import (
    Message,
    Path,
    append_text,
    detect_provider,
    replace_slots,
    tool_call_index,
    user_text,
    validate_messages,
)
from headroom.core.recall import RECALL_MARK, build_recall
from headroom.core.result import CompressionResult
from headroom.core.slots import SlotTask, Tokens, clip, compress_stored, counter_id, plan
from headroom.core.store import CCRStore, get_default_store
from headroom.core.tokens import TokenCounter, counter_for_model
from headroom.exceptions import CompressionError

__all__ = ["compress"]

logger = logging.getLogger("headroom")

_DEFAULT_CONFIG = CompressConfig()

#: Recall reads the originals of at most this many of the latest lossy outputs
#: before a question, and at most this many characters of them: what one
#: question reads is bounded, so a conversation costs time linear in its length.
#: Older outputs stay retrievable by the hash their marker names.
_RECALL_OUTPUTS = 32
_RECALL_CHARS = 4 * 2**20


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
    tokens: Tokens | None = None
    try:
        tokens = Tokens(token_counter or counter_for_model(model), counter_id(model, token_counter))
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
    messages: Sequence[Message], tokens: Tokens | None, exc: BaseException
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


def _run(
    original: list[Message],
    model: str,
    model_limit: int | None,
    cfg: CompressConfig,
    hooks: CompressionHooks | None,
    store: CCRStore | None,
    tokens: Tokens,
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

    tasks, _ = plan(work, cfg, protected, biases)
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
    messages: Sequence[Message], reference: Sequence[Message], sizes: list[int], tokens: Tokens
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


# -- stage: compress each slot --------------------------------------------------


def _compress_slots(
    messages: list[Message],
    tasks: Sequence[SlotTask],
    cfg: CompressConfig,
    store: CCRStore,
    tokens: Tokens,
) -> _Outcome:
    state = _Outcome(messages)
    replacements: dict[tuple[int, Path], str] = {}
    for task in tasks:
        slot = task.slot
        outcome, ccr_hash = compress_stored(task, cfg, store, tokens)
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


# -- stage: recall ----------------------------------------------------------------


def _recall(state: _Outcome, cfg: CompressConfig, tokens: Tokens) -> None:
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
        question = clip(question)
        key = (
            "recall",
            memo.text_key(question),
            tuple((e.ccr_hash, memo.text_key(e.compressed)) for e in recent),
            cfg.fingerprint(),
            tokens.counter_id,
        )
        text = memo.slot_memo.get(key)
        if text is None:
            earlier = [(e.ccr_hash, e.original, e.compressed, e.call) for e in recent]
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
    tokens: Tokens,
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
    if sum(fitted.sizes) > budget:  # every caller (adapter, server, client) reads it here
        logger.warning(
            "headroom: request to %s is %d tokens after compression and does not fit the"
            " window: over its budget of %d (model_limit %d minus output_reserve %d); the"
            " provider may reject it",
            model, sum(fitted.sizes), budget, limit, cfg.output_reserve,
        )  # fmt: skip
    return fitted.sizes
