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
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
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
from langchain_core.runnables import RunnableBinding, RunnableConfig, ensure_config
from langchain_core.tracers._streaming import _StreamingCallbackHandler
from langchain_core.tracers.base import BaseTracer
from langchain_core.utils.utils import LC_ID_PREFIX

from headroom import CompressConfig
from headroom.core.ccr import is_retrieve_name, retrieve_tool_openai
from headroom.core.options import retrieve_tool_mode
from headroom.core.retrieval import RoundsSummary
from headroom.core.retrieve_loop import (
    arun_with_retrieval,
    astream_with_retrieval,
    run_with_retrieval,
    stream_with_retrieval,
)
from headroom.core.totals import SavingsTotals
from headroom.integrations.langchain.compression import Compressed, compress_messages, model_name_of
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
    "State",
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


class State:
    """What a wrapper keeps between calls, in one plain object.

    Reading a pydantic private attribute costs ~2 µs (it goes through
    `__getattr__`), and a call read a dozen: this one is read once per step.
    """

    __slots__ = ("configurable", "extra_kwargs", "pending", "retrieve_tools", "tokenizer", "totals")

    def __init__(self) -> None:
        self.totals = SavingsTotals()  # shared with the copies made for configured calls
        self.extra_kwargs: dict[str, Any] = {}  # standard params the wrapped model has no field for
        self.retrieve_tools: list[Any] | None = None  # as the wrapped model's bind_tools formats it
        self.pending: dict[tuple[int, ...], list[Prepared]] = {}
        self.configurable: Any = None  # a configurable model this wrapper stands for
        self.tokenizer: tuple[Any, str | None, str] = (None, None, "")


def state(llm: HeadroomChatModel) -> State:
    """The wrapper's `State` (read past pydantic's slow private-attribute path)."""
    return cast("State", llm.__pydantic_private__["_state"])  # type: ignore[index]


def tokenizer_name(llm: HeadroomChatModel) -> str:
    """`tokenizer_model`, else the wrapped model's name (remembered: looking it up is slow)."""
    st, model = state(llm), llm.wrapped_model
    if st.tokenizer[0] is not model or st.tokenizer[1] != llm.tokenizer_model:
        st.tokenizer = (model, llm.tokenizer_model, llm.tokenizer_model or model_name_of(model))
    return st.tokenizer[2]


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
    st = state(llm)
    if st.retrieve_tools is None:
        try:
            bound = llm.wrapped_model.bind_tools([retrieve_tool_openai()])
        except NotImplementedError:
            st.retrieve_tools = []
        else:
            tools = bound.kwargs.get("tools") if isinstance(bound, RunnableBinding) else None
            st.retrieve_tools = list(tools) if isinstance(tools, list) else []
    return st.retrieve_tools


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
    st = state(llm)
    may_offer = _may_offer(llm, {**st.extra_kwargs, **kwargs} if st.extra_kwargs else kwargs)
    config = llm.config if may_offer else _without_tool_call(llm.config)
    compressed = compress_messages(
        list(messages),
        model=tokenizer_name(llm),
        config=config,
        hooks=llm.hooks,
        store=llm.store,
        model_limit=llm.model_limit,
    )
    st.totals.add(compressed.tokens_before, compressed.tokens_after)
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
    existing = list(kwargs.get("tools") or state(llm).extra_kwargs.get("tools") or [])
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


class registered:
    """Make prepared requests findable by the model paths for the length of a call.

    A list per key: concurrent calls may share message objects.
    """

    def __init__(self, llm: HeadroomChatModel, prepared: Sequence[Prepared]) -> None:
        self.pending = state(llm).pending
        self.entries = [(_key(p.compressed.messages), p) for p in prepared]

    def __enter__(self) -> None:
        for key, entry in self.entries:
            self.pending.setdefault(key, []).append(entry)

    def __exit__(self, *exc: object) -> None:
        for key, entry in self.entries:
            entries = self.pending.get(key, [])
            entries[:] = [e for e in entries if e is not entry]
            if not entries:
                self.pending.pop(key, None)


def _loop_for(
    llm: HeadroomChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
) -> tuple[ChatRequest, dict[str, Any], list[str] | None]:
    """The loop's first request, its options and the stop words, for prepared messages."""
    st = state(llm)
    entries = st.pending.get(_key(messages))
    prepared = entries[-1] if entries else None
    if prepared is None:  # called below `generate` (e.g. by a test harness)
        prepared = prepare(llm, messages, kwargs)
        kwargs = offer_kwargs(llm, kwargs, [prepared])
    tools = retrieve_tools(llm) if prepared.offer or kwargs.get("tools") else []
    adapter = ChatRetrieveAdapter(tools, prepared.stats)
    request = ChatRequest(prepared.compressed.messages, {**st.extra_kwargs, **kwargs})
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
    if llm._should_stream(async_api=async_api, run_manager=run_manager, **kwargs):
        return True
    protocol = getattr(llm, "_should_use_protocol_streaming", None)  # langchain-core >= 1.4
    return bool(protocol and protocol(async_api=async_api, run_manager=run_manager, **kwargs))


def with_run_ids(result: ChatResult, run_manager: RunManager) -> ChatResult:
    """Message ids from the run, where the model gave none (as LangChain's own path does)."""
    for index, generation in enumerate(result.generations):
        if run_manager is not None and generation.message.id is None:
            generation.message.id = f"{LC_ID_PREFIX}-{run_manager.run_id}-{index}"
    return result


def _round_callbacks(run_manager: RunManager) -> Any:
    """Callbacks for one provider call: a child of the wrapper's run, for tracers only.

    Tracers (LangSmith and others) so show each round: what was sent, what came
    back. Handlers that stream tokens to the caller (`astream_events`, LangGraph's
    messages mode) or count usage stay on the wrapper's run alone, which carries
    the answer and the usage of every round: a retrieval round is never streamed
    to the caller, nor counted twice. None (no child runs) without a tracer.
    """
    if run_manager is None:
        return None
    tracers: list[BaseCallbackHandler] = [
        h
        for h in run_manager.handlers
        if isinstance(h, BaseTracer) and not isinstance(h, _StreamingCallbackHandler)
    ]
    if not tracers:
        return None
    manager = (
        AsyncCallbackManager
        if isinstance(run_manager, AsyncCallbackManagerForLLMRun)
        else CallbackManager
    )
    return manager(
        tracers,
        tracers,
        parent_run_id=run_manager.run_id,
        tags=list(run_manager.inheritable_tags),
        inheritable_tags=list(run_manager.inheritable_tags),
        metadata=dict(run_manager.inheritable_metadata),
        inheritable_metadata=dict(run_manager.inheritable_metadata),
    )


def _result(output: LLMResult) -> ChatResult:
    generations = cast("list[ChatGeneration]", output.generations[0])
    return ChatResult(generations=generations, llm_output=output.llm_output)


def _chunk(message: BaseMessage) -> ChatGenerationChunk:
    if isinstance(message, AIMessageChunk):
        return ChatGenerationChunk(message=message)
    return as_chunk(ChatGeneration(message=message))  # a model that answered in one piece


def _finish(options: dict[str, Any], result: Any, run_manager: RunManager) -> ChatResult:
    if not options["offer"]:  # one call: the loop's bookkeeping was not needed
        result = options["adapter"].finish(result, RoundsSummary())
    annotate_trace(run_manager, result.llm_output["headroom"])
    return cast("ChatResult", result)


def generate(
    llm: HeadroomChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    run_manager: CallbackManagerForLLMRun | None,
    kwargs: dict[str, Any],
) -> ChatResult:
    request, options, stop = _loop_for(llm, messages, stop, kwargs)
    model, callbacks = llm.wrapped_model, _round_callbacks(run_manager)

    def call(req: ChatRequest) -> ChatResult:
        if callbacks is None:
            return model._generate_with_cache(req.messages, stop=stop, **req.kwargs)
        return _result(model.generate([req.messages], stop, callbacks, **req.kwargs))

    if not options["offer"]:
        return _finish(options, call(request), run_manager)
    return _finish(options, run_with_retrieval(request, call, **options)[0], run_manager)


async def agenerate(
    llm: HeadroomChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    run_manager: AsyncCallbackManagerForLLMRun | None,
    kwargs: dict[str, Any],
) -> ChatResult:
    request, options, stop = _loop_for(llm, messages, stop, kwargs)
    model, callbacks = llm.wrapped_model, _round_callbacks(run_manager)

    async def call(req: ChatRequest) -> ChatResult:
        if callbacks is None:
            return await model._agenerate_with_cache(req.messages, stop=stop, **req.kwargs)
        return _result(await model.agenerate([req.messages], stop, callbacks, **req.kwargs))

    if not options["offer"]:
        return _finish(options, await call(request), run_manager)
    return _finish(options, (await arun_with_retrieval(request, call, **options))[0], run_manager)


def stream(
    llm: HeadroomChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    run_manager: CallbackManagerForLLMRun | None,
    kwargs: dict[str, Any],
) -> Iterator[ChatGenerationChunk]:
    request, options, stop = _loop_for(llm, messages, stop, kwargs)
    model, callbacks = llm.wrapped_model, _round_callbacks(run_manager)

    def round_stream(req: ChatRequest) -> Iterator[ChatGenerationChunk]:
        if callbacks is not None:  # a child run per round, through the model's own `stream`
            config: RunnableConfig = {"callbacks": callbacks}
            yield from map(_chunk, model.stream(req.messages, config, stop=stop, **req.kwargs))
        elif natively_streams(model, async_api=False) and not model._streaming_disabled(
            **req.kwargs
        ):
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
    model, callbacks = llm.wrapped_model, _round_callbacks(run_manager)

    async def round_stream(req: ChatRequest) -> AsyncIterator[ChatGenerationChunk]:
        if callbacks is not None:
            config: RunnableConfig = {"callbacks": callbacks}
            async for message in model.astream(req.messages, config, stop=stop, **req.kwargs):
                yield _chunk(message)
        elif natively_streams(model, async_api=True) and not model._streaming_disabled(
            **req.kwargs
        ):
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
