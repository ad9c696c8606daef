"""The wrapper's model paths: the core retrieve loop around the wrapped model.

`_generate` / `_stream` and their async twins land here with the messages
`calls.prepare` compressed, find that prepared request, and run
`headroom.core.retrieve_loop` with the wrapped model as the model call; each
call is a child run of the wrapper's run when a tracer listens (`runs.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult, LLMResult
from langchain_core.runnables import RunnableConfig

from headroom.core.retrieve_adapter import RoundsSummary
from headroom.core.retrieve_loop import (
    arun_with_retrieval,
    astream_with_retrieval,
    run_with_retrieval,
    stream_with_retrieval,
)
from headroom.integrations.langchain.calls import (
    aprepare,
    find,
    offer_kwargs,
    prepare,
    registered,
)
from headroom.integrations.langchain.runs import (
    RunManager,
    annotate_trace,
    for_stream,
    round_callbacks,
    with_run_ids,
)
from headroom.integrations.langchain.streaming import ChatRequest, as_chunk, natively_streams

if TYPE_CHECKING:
    from headroom.integrations.langchain.chat_model import HeadroomChatModel

__all__ = ["agenerate", "astream", "astream_call", "generate", "stream", "stream_call"]


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
    model, callbacks = llm.wrapped_model, round_callbacks(llm, run_manager, prepared)

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
    model, callbacks = llm.wrapped_model, round_callbacks(llm, run_manager, prepared)

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
    model, callbacks = llm.wrapped_model, round_callbacks(llm, run_manager, prepared)

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

    for chunk in stream_with_retrieval(request, round_stream, **options):
        yield _noted(chunk, callbacks)


async def astream(
    llm: HeadroomChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    run_manager: AsyncCallbackManagerForLLMRun | None,
    kwargs: dict[str, Any],
) -> AsyncIterator[ChatGenerationChunk]:
    prepared, request, options, stop = find(llm, messages, stop, kwargs)
    model, callbacks = llm.wrapped_model, round_callbacks(llm, run_manager, prepared)

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
        yield _noted(chunk, callbacks)


def _noted(chunk: ChatGenerationChunk, callbacks: Any) -> ChatGenerationChunk:
    """The chunk; the final stats it carries (on the first shown) go to the run's trace."""
    if callbacks is not None and "headroom" in chunk.message.response_metadata:
        annotate_trace(callbacks, chunk.message.response_metadata["headroom"])
    return chunk
