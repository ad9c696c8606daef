"""One call through `HeadroomChatModel`: compress, then the core retrieve loop.

Compression runs where LangChain starts the run (`generate`, `stream`), so the
trace's input is what the provider receives; the model paths (`_generate`,
`_stream`) find that prepared request by the identity of its messages and run
`headroom.core.retrieve_loop` around the wrapped model, which is called
without a run manager: only what the wrapper yields reaches callbacks.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableBinding, RunnableConfig, ensure_config
from langchain_core.tracers.base import BaseTracer

from headroom import CompressConfig
from headroom.core.ccr import is_retrieve_name
from headroom.core.options import retrieve_tool_mode
from headroom.core.retrieval import RoundsSummary
from headroom.core.retrieve_loop import (
    arun_with_retrieval,
    astream_with_retrieval,
    run_with_retrieval,
    stream_with_retrieval,
)
from headroom.integrations.langchain.ccr import retrieve_tool_schema
from headroom.integrations.langchain.compression import Compressed, compress_messages
from headroom.integrations.langchain.streaming import (
    ChatRequest,
    ChatRetrieveAdapter,
    as_chunk,
    natively_streams,
    tool_name,
)

if TYPE_CHECKING:
    from headroom.integrations.langchain.chat_model import HeadroomChatModel

__all__ = [
    "OFF_LOOP_CHARS",
    "Prepared",
    "Totals",
    "agenerate",
    "aprepare",
    "astream",
    "config_with_stats",
    "generate",
    "offer_kwargs",
    "prepare",
    "registered",
    "run_kwargs",
    "stream",
]

logger = logging.getLogger("headroom")

RunManager = CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None

#: Above this many characters of input, async calls compress in a worker thread:
#: compressing ~1 MB takes about a second, which must not stall the event loop.
OFF_LOOP_CHARS = 16_000


class Totals:
    """Counters shared by a wrapper and its copies; pickled without their lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tokens_saved = 0
        self.calls = 0

    def add(self, saved: int) -> None:
        with self._lock:
            self.tokens_saved += saved
            self.calls += 1

    def __getstate__(self) -> dict[str, int]:
        return {"tokens_saved": self.tokens_saved, "calls": self.calls}

    def __setstate__(self, state: dict[str, int]) -> None:
        self._lock = threading.Lock()
        self.tokens_saved, self.calls = state["tokens_saved"], state["calls"]


@dataclass(frozen=True, eq=False)
class Prepared:
    """One message list after compression, and whether the retrieve loop runs for it."""

    compressed: Compressed
    offer: bool
    stats: dict[str, Any]


def _key(messages: Sequence[BaseMessage]) -> tuple[int, ...]:
    return tuple(map(id, messages))


def retrieve_tools(llm: HeadroomChatModel) -> list[Any]:
    """`headroom_retrieve` formatted by the wrapped model's own `bind_tools`."""
    if llm._retrieve_tools is None:
        try:
            bound = llm.wrapped_model.bind_tools([retrieve_tool_schema()])
        except NotImplementedError:
            llm._retrieve_tools = []
        else:
            tools = bound.kwargs.get("tools") if isinstance(bound, RunnableBinding) else None
            llm._retrieve_tools = list(tools) if isinstance(tools, list) else []
    return llm._retrieve_tools


def _may_offer(llm: HeadroomChatModel, kwargs: dict[str, Any]) -> bool:
    """Whether the retrieve tool would be offered if compression leaves a marker."""
    mode = llm.retrieve_tool if llm.ccr_retrieve is None else retrieve_tool_mode(llm.ccr_retrieve)
    enabled = mode == "always" or (mode == "auto" and bool(kwargs.get("tools")))
    if not enabled or llm.max_retrieve_rounds == 0 or not retrieve_tools(llm):
        return False
    choice = kwargs.get("tool_choice")
    if isinstance(choice, dict) or (
        isinstance(choice, str) and choice not in ("auto", "any", "required")
    ):
        return False  # a forced tool (or none): the model could not call headroom_retrieve
    existing = kwargs.get("tools") or []
    # a caller's own headroom_retrieve is theirs to answer
    return isinstance(existing, list) and not any(is_retrieve_name(tool_name(t)) for t in existing)


@lru_cache(maxsize=64)
def _without_tool_call(config: CompressConfig) -> CompressConfig:
    """`config` with markers that name no call (memoized: validation costs ~50 µs)."""
    return config.replace(markers_name_tool=False)


def prepare(
    llm: HeadroomChatModel, messages: Sequence[BaseMessage], kwargs: dict[str, Any]
) -> Prepared:
    """Compress `messages`; markers name the retrieve call only if it will be offered."""
    may_offer = _may_offer(llm, {**llm._extra_call_kwargs, **kwargs})
    config = llm.config if may_offer else _without_tool_call(llm.config)
    compressed = compress_messages(
        list(messages),
        model=llm._tokenizer_name(),
        config=config,
        hooks=llm.hooks,
        store=llm.store,
        model_limit=llm.model_limit,
    )
    llm._totals.add(compressed.tokens_saved)
    return Prepared(compressed, may_offer and bool(compressed.ccr_hashes), compressed.stats())


async def aprepare(
    llm: HeadroomChatModel, messages: Sequence[BaseMessage], kwargs: dict[str, Any]
) -> Prepared:
    """`prepare`, in a worker thread when the input is large."""
    size = sum(
        len(m.content) if isinstance(m.content, str) else len(str(m.content)) for m in messages
    )
    if size < OFF_LOOP_CHARS:
        return prepare(llm, messages, kwargs)
    return await asyncio.to_thread(prepare, llm, messages, kwargs)


def offer_kwargs(
    llm: HeadroomChatModel, kwargs: dict[str, Any], prepared: Sequence[Prepared]
) -> dict[str, Any]:
    """The call's kwargs, with `headroom_retrieve` when it is offered (so traces show it)."""
    if not any(p.offer for p in prepared):
        return kwargs
    existing = list(kwargs.get("tools") or llm._extra_call_kwargs.get("tools") or [])
    return {**kwargs, "tools": [*existing, *retrieve_tools(llm)]}


def _stats(prepared: Prepared) -> dict[str, Any]:
    return {**prepared.stats, "retrieval_rounds": 0}


def run_kwargs(
    llm: HeadroomChatModel, kwargs: dict[str, Any], prepared: Sequence[Prepared]
) -> dict[str, Any]:
    """`generate` kwargs: `headroom_retrieve` when offered, the stats in the run's metadata."""
    kwargs = offer_kwargs(llm, kwargs, prepared)
    if len(prepared) != 1:
        return kwargs
    return {
        **kwargs,
        "metadata": {**(kwargs.get("metadata") or {}), "headroom": _stats(prepared[0])},
    }


def config_with_stats(config: RunnableConfig | None, prepared: Prepared) -> RunnableConfig:
    """A stream's config whose run metadata carries the stats."""
    config = ensure_config(config)
    return {**config, "metadata": {**(config.get("metadata") or {}), "headroom": _stats(prepared)}}


@contextmanager
def registered(llm: HeadroomChatModel, prepared: Sequence[Prepared]) -> Iterator[None]:
    """Make prepared requests findable by the model paths (a list per key: concurrent
    calls may share message objects) for the length of a call."""
    keys = [_key(p.compressed.messages) for p in prepared]
    for key, entry in zip(keys, prepared, strict=True):
        llm._pending.setdefault(key, []).append(entry)
    try:
        yield
    finally:
        for key, entry in zip(keys, prepared, strict=True):
            entries = llm._pending.get(key, [])
            entries[:] = [e for e in entries if e is not entry]
            if not entries:
                llm._pending.pop(key, None)


def _loop_for(
    llm: HeadroomChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
) -> tuple[ChatRequest, dict[str, Any], list[str] | None]:
    """The loop's first request, its options and the stop words, for prepared messages."""
    entries = llm._pending.get(_key(messages))
    prepared = entries[-1] if entries else None
    if prepared is None:  # called below `generate` (e.g. by a test harness)
        prepared = prepare(llm, messages, kwargs)
        kwargs = offer_kwargs(llm, kwargs, [prepared])
    tools = retrieve_tools(llm) if prepared.offer or kwargs.get("tools") else []
    adapter = ChatRetrieveAdapter(tools, prepared.stats)
    request = ChatRequest(prepared.compressed.messages, {**llm._extra_call_kwargs, **kwargs})
    if not prepared.offer and tools:  # another list of the same batch may have offered it
        request = adapter.withdraw_tool(request)
    options = {
        "adapter": adapter,
        "store": llm.store,
        "max_rounds": llm.max_retrieve_rounds,
        "offer": prepared.offer,
    }
    default_stop = list(llm.stop) if llm.stop else None
    return request, options, stop if stop is not None else default_stop


def generate(
    llm: HeadroomChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    run_manager: CallbackManagerForLLMRun | None,
    kwargs: dict[str, Any],
) -> ChatResult:
    request, options, stop = _loop_for(llm, messages, stop, kwargs)
    model = llm.wrapped_model

    def call(req: ChatRequest) -> ChatResult:
        return model._generate_with_cache(req.messages, stop=stop, **req.kwargs)

    if not options["offer"]:  # one call: the loop's bookkeeping is not needed
        result = options["adapter"].finish(call(request), RoundsSummary())
    else:
        result, _ = run_with_retrieval(request, call, **options)
    annotate_trace(run_manager, result.llm_output["headroom"])
    return cast("ChatResult", result)


async def agenerate(
    llm: HeadroomChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    run_manager: AsyncCallbackManagerForLLMRun | None,
    kwargs: dict[str, Any],
) -> ChatResult:
    request, options, stop = _loop_for(llm, messages, stop, kwargs)
    model = llm.wrapped_model

    async def call(req: ChatRequest) -> ChatResult:
        return await model._agenerate_with_cache(req.messages, stop=stop, **req.kwargs)

    if not options["offer"]:
        result = options["adapter"].finish(await call(request), RoundsSummary())
    else:
        result, _ = await arun_with_retrieval(request, call, **options)
    annotate_trace(run_manager, result.llm_output["headroom"])
    return cast("ChatResult", result)


def stream(
    llm: HeadroomChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    run_manager: CallbackManagerForLLMRun | None,
    kwargs: dict[str, Any],
) -> Iterator[ChatGenerationChunk]:
    request, options, stop = _loop_for(llm, messages, stop, kwargs)
    model = llm.wrapped_model

    def round_stream(req: ChatRequest) -> Iterator[ChatGenerationChunk]:
        if natively_streams(model, async_api=False) and not model._streaming_disabled(**req.kwargs):
            if model.rate_limiter:
                model.rate_limiter.acquire(blocking=True)
            yield from model._stream(req.messages, stop=stop, **req.kwargs)
        else:
            result = model._generate_with_cache(req.messages, stop=stop, **req.kwargs)
            yield as_chunk(result.generations[0])

    yield from stream_with_retrieval(request, round_stream, **options)


async def astream(
    llm: HeadroomChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    run_manager: AsyncCallbackManagerForLLMRun | None,
    kwargs: dict[str, Any],
) -> AsyncIterator[ChatGenerationChunk]:
    request, options, stop = _loop_for(llm, messages, stop, kwargs)
    model = llm.wrapped_model

    async def round_stream(req: ChatRequest) -> AsyncIterator[ChatGenerationChunk]:
        if natively_streams(model, async_api=True) and not model._streaming_disabled(**req.kwargs):
            if model.rate_limiter:
                await model.rate_limiter.aacquire(blocking=True)
            async for chunk in model._astream(req.messages, stop=stop, **req.kwargs):
                yield chunk
        else:
            result = await model._agenerate_with_cache(req.messages, stop=stop, **req.kwargs)
            yield as_chunk(result.generations[0])

    async for chunk in astream_with_retrieval(request, round_stream, **options):
        yield chunk


def annotate_trace(run_manager: RunManager, stats: dict[str, Any]) -> None:
    """Put the stats in the run's metadata for tracers (LangSmith and others)."""
    if run_manager is None:
        return
    for handler in run_manager.handlers:
        if not isinstance(handler, BaseTracer):
            continue
        run = handler.run_map.get(str(run_manager.run_id))
        if run is None:
            continue
        try:
            run.extra.setdefault("metadata", {})["headroom"] = dict(stats)
        except (AttributeError, TypeError):  # a tracer with its own run type
            logger.debug("headroom: could not annotate run of %r", handler)
