"""The wrapper's model paths: the core retrieve loop around the wrapped model.

`_generate` / `_stream` and their async twins land here with the messages
`calls.prepare` compressed; each provider call (round) of the loop is a child
run of the wrapper's run for tracers (LangSmith and others), so a trace shows
every call with what it was sent and what came back. Handlers that stream
tokens to the caller (`astream_events`, LangGraph's messages mode) or count
usage see the wrapper's run alone: it carries the answer and the usage of all
rounds, so a retrieval round is never streamed to the caller, nor counted twice.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextvars import ContextVar, Token
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from langchain_core.caches import BaseCache
from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    BaseCallbackHandler,
    CallbackManager,
    CallbackManagerForLLMRun,
)
from langchain_core.globals import get_llm_cache
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult, LLMResult
from langchain_core.runnables import RunnableConfig, ensure_config
from langchain_core.tracers._streaming import _StreamingCallbackHandler
from langchain_core.tracers.base import BaseTracer
from langchain_core.utils.utils import LC_ID_PREFIX
from langchain_core.utils.uuid import uuid7

from headroom.core.retrieval import RoundsSummary
from headroom.core.retrieve_loop import (
    arun_with_retrieval,
    astream_with_retrieval,
    run_with_retrieval,
    stream_with_retrieval,
)
from headroom.integrations.langchain.calls import (
    Prepared,
    aprepare,
    find,
    offer_kwargs,
    prepare,
    registered,
)
from headroom.integrations.langchain.streaming import ChatRequest, as_chunk, natively_streams

if TYPE_CHECKING:
    from headroom.integrations.langchain.chat_model import HeadroomChatModel

__all__ = [
    "agenerate",
    "astream",
    "astream_call",
    "bookkeeping_needed",
    "for_stream",
    "generate",
    "stream",
    "stream_call",
    "with_run",
    "with_run_ids",
]

logger = logging.getLogger("headroom")

RunManager = CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None

#: The wrapper's run while LangChain's own `_generate_with_cache` streams through
#: `_stream`, which it calls without the run manager.
_RUN: ContextVar[tuple[Any, RunManager]] = ContextVar("headroom_run", default=(None, None))


def bookkeeping_needed(
    llm: HeadroomChatModel, run_manager: RunManager, kwargs: dict[str, Any], async_api: bool
) -> bool:
    """Whether LangChain's own `_generate_with_cache` must run for the wrapper.

    It serves the wrapper's `cache=` and `rate_limiter=`, implicit streaming
    (`astream_events`, v2 stream handlers) and v1 output; without any of them
    it only costs time (a signature inspection per call), so it is skipped.
    """
    cache = llm.cache
    if llm.rate_limiter is not None or cache is True or isinstance(cache, BaseCache):
        return True
    if (cache is None and get_llm_cache() is not None) or llm.output_version == "v1":
        return True
    handlers = run_manager.handlers if run_manager is not None else ()
    streaming = kwargs.get("stream") or llm.streaming or llm.wrapped_model.__dict__.get("streaming")
    if not handlers and not streaming:
        return False  # nothing could ask LangChain to stream (the checks below are slow)
    if llm._should_stream(async_api=async_api, run_manager=run_manager, **kwargs):
        return True
    protocol = getattr(llm, "_should_use_protocol_streaming", None)  # langchain-core >= 1.4
    return bool(protocol and protocol(async_api=async_api, run_manager=run_manager, **kwargs))


class with_run:
    """Context for LangChain's own `_generate_with_cache`: `_stream` finds the run in it."""

    def __init__(self, llm: HeadroomChatModel, run_manager: RunManager) -> None:
        self.value: tuple[Any, RunManager] = (llm, run_manager)
        self.token: Token[tuple[Any, RunManager]] | None = None

    def __enter__(self) -> None:
        self.token = _RUN.set(self.value)

    def __exit__(self, *exc: object) -> None:
        if self.token is not None:
            _RUN.reset(self.token)


def with_run_ids(result: ChatResult, run_manager: RunManager) -> ChatResult:
    """Message ids from the run, where the model gave none (as LangChain's own path does)."""
    for index, generation in enumerate(result.generations):
        if run_manager is not None and generation.message.id is None:
            generation.message.id = f"{LC_ID_PREFIX}-{run_manager.run_id}-{index}"
    return result


def _tracers(handlers: Sequence[BaseCallbackHandler]) -> list[BaseCallbackHandler]:
    return [
        h
        for h in handlers
        if isinstance(h, BaseTracer) and not isinstance(h, _StreamingCallbackHandler)
    ]


def _child_callbacks(
    async_api: bool, tracers: list[BaseCallbackHandler], parent: Any, tags: list[str], meta: Any
) -> CallbackManager | AsyncCallbackManager:
    manager = AsyncCallbackManager if async_api else CallbackManager
    return manager(
        tracers,
        tracers,
        parent_run_id=parent,
        tags=list(tags),
        inheritable_tags=list(tags),
        metadata=dict(meta),
        inheritable_metadata=dict(meta),
    )


def _round_callbacks(llm: HeadroomChatModel, run_manager: RunManager, prepared: Any) -> Any:
    """Callbacks that make one provider call a child run, or None without a tracer."""
    if run_manager is None:
        owner, run_manager = _RUN.get()
        if owner is not llm or run_manager is None:
            return prepared.callbacks  # set up by `stream` (LangChain keeps that run to itself)
    tracers = _tracers(run_manager.handlers)
    if not tracers:
        return None
    async_api = isinstance(run_manager, AsyncCallbackManagerForLLMRun)
    tags, meta = run_manager.inheritable_tags, run_manager.inheritable_metadata
    return _child_callbacks(async_api, tracers, run_manager.run_id, tags, meta)


def for_stream(
    llm: HeadroomChatModel, config: RunnableConfig | None, prepared: Prepared, async_api: bool
) -> tuple[RunnableConfig, Prepared]:
    """A stream's config (stats in its metadata, its run id fixed) and its prepared request.

    LangChain's `stream` keeps its run manager to itself, so the run's handlers
    are worked out here as it does, for the rounds' child runs of that run.
    """
    config = ensure_config(config)
    stats = {**prepared.stats, "retrieval_rounds": 0}
    config = {**config, "metadata": {**(config.get("metadata") or {}), "headroom": stats}}
    configure = AsyncCallbackManager.configure if async_api else CallbackManager.configure
    manager = configure(
        config.get("callbacks"),
        llm.callbacks,
        llm.verbose,
        config.get("tags"),
        llm.tags,
        config.get("metadata"),
        llm.metadata,
    )
    tracers = _tracers(manager.handlers)
    if not tracers:
        return config, prepared
    run_id = config.get("run_id") or uuid7()
    tags, meta = manager.inheritable_tags, manager.inheritable_metadata
    callbacks = _child_callbacks(async_api, tracers, run_id, tags, meta)
    return {**config, "run_id": run_id}, replace(prepared, callbacks=callbacks)


def stream_call(
    llm: HeadroomChatModel,
    parent: Callable[..., Iterator[AIMessageChunk]],
    input: Any,
    config: RunnableConfig | None,
    stop: list[str] | None,
    kwargs: dict[str, Any],
) -> Iterator[AIMessageChunk]:
    """`stream`: compress, then LangChain's own `stream` (`parent`) of what is sent."""
    prepared = prepare(llm, llm._convert_input(input).to_messages(), kwargs)
    config, prepared = for_stream(llm, config, prepared, async_api=False)
    with registered(llm, [prepared]):
        offered = offer_kwargs(llm, kwargs, [prepared])
        yield from parent(prepared.compressed.messages, config, stop=stop, **offered)


async def astream_call(
    llm: HeadroomChatModel,
    parent: Callable[..., AsyncIterator[AIMessageChunk]],
    input: Any,
    config: RunnableConfig | None,
    stop: list[str] | None,
    kwargs: dict[str, Any],
) -> AsyncIterator[AIMessageChunk]:
    """`astream`: `stream_call`, compressing a large input off the event loop."""
    prepared = await aprepare(llm, llm._convert_input(input).to_messages(), kwargs)
    config, prepared = for_stream(llm, config, prepared, async_api=True)
    with registered(llm, [prepared]):
        offered = offer_kwargs(llm, kwargs, [prepared])
        async for chunk in parent(prepared.compressed.messages, config, stop=stop, **offered):
            yield chunk


def _result(output: LLMResult) -> ChatResult:
    generations = cast("list[ChatGeneration]", output.generations[0])
    return ChatResult(generations=generations, llm_output=output.llm_output)


def _chunk(message: BaseMessage) -> ChatGenerationChunk:
    if isinstance(message, AIMessageChunk):
        return ChatGenerationChunk(message=message)
    return as_chunk(ChatGeneration(message=message))  # a model that answered in one piece


def _finish(
    options: dict[str, Any], result: Any, run_manager: RunManager, callbacks: Any
) -> ChatResult:
    if not options["offer"]:  # one call: the loop's bookkeeping was not needed
        result = options["adapter"].finish(result, RoundsSummary())
    annotate_trace(callbacks, result.llm_output["headroom"])
    return with_run_ids(cast("ChatResult", result), run_manager)


def generate(
    llm: HeadroomChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    run_manager: CallbackManagerForLLMRun | None,
    kwargs: dict[str, Any],
) -> ChatResult:
    prepared, request, options, stop = find(llm, messages, stop, kwargs)
    model, callbacks = llm.wrapped_model, _round_callbacks(llm, run_manager, prepared)

    def call(req: ChatRequest) -> ChatResult:
        if callbacks is None:
            return model._generate_with_cache(req.messages, stop=stop, **req.kwargs)
        return _result(model.generate([req.messages], stop, callbacks, **req.kwargs))

    if not options["offer"]:
        return _finish(options, call(request), run_manager, callbacks)
    result = run_with_retrieval(request, call, **options)[0]
    return _finish(options, result, run_manager, callbacks)


async def agenerate(
    llm: HeadroomChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    run_manager: AsyncCallbackManagerForLLMRun | None,
    kwargs: dict[str, Any],
) -> ChatResult:
    prepared, request, options, stop = find(llm, messages, stop, kwargs)
    model, callbacks = llm.wrapped_model, _round_callbacks(llm, run_manager, prepared)

    async def call(req: ChatRequest) -> ChatResult:
        if callbacks is None:
            return await model._agenerate_with_cache(req.messages, stop=stop, **req.kwargs)
        return _result(await model.agenerate([req.messages], stop, callbacks, **req.kwargs))

    if not options["offer"]:
        return _finish(options, await call(request), run_manager, callbacks)
    result = (await arun_with_retrieval(request, call, **options))[0]
    return _finish(options, result, run_manager, callbacks)


def stream(
    llm: HeadroomChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    run_manager: CallbackManagerForLLMRun | None,
    kwargs: dict[str, Any],
) -> Iterator[ChatGenerationChunk]:
    prepared, request, options, stop = find(llm, messages, stop, kwargs)
    model, callbacks = llm.wrapped_model, _round_callbacks(llm, run_manager, prepared)

    def round_stream(req: ChatRequest) -> Iterator[ChatGenerationChunk]:
        if callbacks is not None:  # a child run per round, through the model's own `stream`
            config: RunnableConfig = {"callbacks": callbacks}
            yield from map(_chunk, model.stream(req.messages, config, stop=stop, **req.kwargs))
        elif natively_streams(model, False) and not model._streaming_disabled(**req.kwargs):
            if model.rate_limiter:
                model.rate_limiter.acquire(blocking=True)
            yield from model._stream(req.messages, stop=stop, **req.kwargs)
        else:
            result = model._generate_with_cache(req.messages, stop=stop, **req.kwargs)
            yield as_chunk(result.generations[0])

    yield from _annotated(stream_with_retrieval(request, round_stream, **options), callbacks)


async def astream(
    llm: HeadroomChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    run_manager: AsyncCallbackManagerForLLMRun | None,
    kwargs: dict[str, Any],
) -> AsyncIterator[ChatGenerationChunk]:
    prepared, request, options, stop = find(llm, messages, stop, kwargs)
    model, callbacks = llm.wrapped_model, _round_callbacks(llm, run_manager, prepared)

    async def round_stream(req: ChatRequest) -> AsyncIterator[ChatGenerationChunk]:
        if callbacks is not None:
            config: RunnableConfig = {"callbacks": callbacks}
            async for message in model.astream(req.messages, config, stop=stop, **req.kwargs):
                yield _chunk(message)
        elif natively_streams(model, True) and not model._streaming_disabled(**req.kwargs):
            if model.rate_limiter:
                await model.rate_limiter.aacquire(blocking=True)
            async for chunk in model._astream(req.messages, stop=stop, **req.kwargs):
                yield chunk
        else:
            result = await model._agenerate_with_cache(req.messages, stop=stop, **req.kwargs)
            yield as_chunk(result.generations[0])

    async for chunk in astream_with_retrieval(request, round_stream, **options):
        if callbacks is not None and "headroom" in chunk.message.response_metadata:
            annotate_trace(callbacks, chunk.message.response_metadata["headroom"])
        yield chunk


def annotate_trace(callbacks: Any, stats: dict[str, Any]) -> None:
    """Put the final stats in the wrapper's run, for the tracers its rounds report to."""
    if callbacks is None:
        return
    for handler in callbacks.handlers:
        run = handler.run_map.get(str(callbacks.parent_run_id))
        if run is None:
            continue
        try:
            run.extra.setdefault("metadata", {})["headroom"] = dict(stats)
        except (AttributeError, TypeError):  # a tracer with its own run type
            logger.debug("headroom: could not annotate run of %r", handler)


def _annotated(chunks: Iterator[Any], callbacks: Any) -> Iterator[Any]:
    for chunk in chunks:
        if callbacks is not None and "headroom" in chunk.message.response_metadata:
            annotate_trace(callbacks, chunk.message.response_metadata["headroom"])
        yield chunk
