"""`HeadroomChatModel`: any LangChain chat model, sent fewer input tokens.

The wrapper is a full `BaseChatModel` whose every path compresses the messages
and then runs the *wrapped* model's own machinery on them: invoke goes through
the wrapped model's `_generate_with_cache` (its cache, rate limiter, output
version and streaming choice), streams through its `_stream`/`_astream`, and
tools and structured output are formatted by its own `bind_tools` and
`with_structured_output`, with the wrapped model swapped for the wrapper in
the runnable they return. There is a single LLM run per call, traced with the
wrapped model's provider and model name, so cost attribution stays right.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
)
from langchain_core.messages.ai import UsageMetadata, add_usage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableBinding
from langchain_core.tools import BaseTool
from langchain_core.tracers.base import BaseTracer
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from headroom import RETRIEVE_TOOL_NAME, CCRStore, CompressConfig, CompressionHooks
from headroom.core.tokens import count_message_tokens, counter_for_model
from headroom.integrations.langchain.ccr import (
    answer_retrieve_calls,
    keep_only_retrieve_calls,
    retrieve_calls,
    retrieve_tool_schema,
)
from headroom.integrations.langchain.compression import (
    DEFAULT_CONFIG,
    Compressed,
    compress_messages,
    model_name_of,
)
from headroom.integrations.langchain.converters import to_core
from headroom.integrations.langchain.runnables import substitute
from headroom.integrations.langchain.streaming import (
    AsyncHidingRunManager,
    HidingRunManager,
    RetrieveFilter,
    as_chunk,
    merged,
    natively_streams,
    rounds_chunk,
    with_metadata,
)

__all__ = ["HeadroomChatModel"]

logger = logging.getLogger("headroom")

#: Standard LangChain parameters the wrapper accepts and hands to the wrapped model.
_STANDARD_PARAMS = ("temperature", "max_tokens", "timeout", "max_retries", "streaming")


class _Totals:
    """Counters shared by a wrapper and its `bind_tools` / `with_structured_output` copies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tokens_saved = 0
        self.calls = 0

    def add(self, saved: int) -> None:
        with self._lock:
            self.tokens_saved += saved
            self.calls += 1


@dataclass(frozen=True)
class _Request:
    """One call after compression: what to send and with which arguments."""

    compressed: Compressed
    stop: list[str] | None
    kwargs: dict[str, Any]
    ccr_kwargs: dict[str, Any] | None  # kwargs with headroom_retrieve added; None: no CCR loop

    def call_kwargs(self, with_retrieve: bool) -> dict[str, Any]:
        return self.ccr_kwargs if with_retrieve and self.ccr_kwargs is not None else self.kwargs


def _field_for(model: BaseChatModel, name: str) -> str | None:
    """The wrapped model's field for a standard parameter, matched by name or alias."""
    fields = type(model).model_fields
    if name in fields:
        return name
    for field_name, info in fields.items():
        if name in (info.alias, info.validation_alias):
            return field_name
    return None


class HeadroomChatModel(BaseChatModel):
    """A chat model that compresses what it sends, then calls the model it wraps.

    Use it wherever the wrapped model would go: chains, `create_agent`, LangGraph
    agents, `with_structured_output`, streaming. Only the input shrinks.

    Example:
        ```python
        from langchain_openai import ChatOpenAI
        from headroom.integrations.langchain import HeadroomChatModel

        llm = HeadroomChatModel(ChatOpenAI(model="gpt-4o"))
        reply = llm.invoke(messages)
        reply.response_metadata["headroom"]["tokens_saved"]
        ```

    Attributes:
        wrapped_model: The chat model that receives the compressed messages.
        config: Compression settings. The default keeps the system prompt
            byte for byte (`cache_align=False`).
        hooks: `CompressionHooks` to steer or observe compression; its
            `post_compress` sees exactly the messages that were sent.
        store: CCR store for originals of lossy steps; the process default if None.
        model_limit: Context window to fit into; the model's known window if None.
        tokenizer_model: Model name for token counting; the wrapped model's name if None.
        ccr_retrieve: Offer `headroom_retrieve` to the model and answer its calls
            from the store, transparently. None (default): on when tools are bound.
        max_retrieve_rounds: Retrieval round trips per call before the tool is
            withdrawn.
        temperature, max_tokens, timeout, max_retries, streaming: Standard
            parameters, set on (a copy of) the wrapped model when it has them,
            else passed to it on every call.
        stop: Default stop sequences when a call passes none.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    wrapped_model: BaseChatModel
    config: CompressConfig = DEFAULT_CONFIG
    hooks: CompressionHooks | None = Field(default=None, exclude=True)
    store: CCRStore | None = Field(default=None, exclude=True)
    model_limit: int | None = None
    tokenizer_model: str | None = None
    ccr_retrieve: bool | None = None
    max_retrieve_rounds: int = Field(default=3, ge=0)
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    max_retries: int | None = None
    stop: list[str] | None = None
    streaming: bool = False

    _totals: _Totals = PrivateAttr(default_factory=_Totals)
    _extra_call_kwargs: dict[str, Any] = PrivateAttr(default_factory=dict)
    _retrieve_tools: list[Any] | None = PrivateAttr(default=None)

    def __init__(self, wrapped_model: BaseChatModel | None = None, /, **kwargs: Any) -> None:
        if wrapped_model is not None:
            kwargs["wrapped_model"] = wrapped_model
        super().__init__(**kwargs)

    @model_validator(mode="after")
    def _forward_standard_params(self) -> HeadroomChatModel:
        updates: dict[str, Any] = {}
        for name in _STANDARD_PARAMS:
            value = getattr(self, name)
            if name not in self.model_fields_set or value is None:
                continue
            target = _field_for(self.wrapped_model, name)
            if target is not None:
                updates[target] = value
            elif name == "streaming":  # a mode of the model, not a request parameter
                logger.warning(
                    "headroom: %s has no 'streaming' field; use .stream() instead",
                    type(self.wrapped_model).__name__,
                )
            else:
                self._extra_call_kwargs[name] = value
        if updates:
            self.wrapped_model = self.wrapped_model.model_copy(update=updates)
        if "output_version" not in self.model_fields_set:
            self.output_version = self.wrapped_model.output_version
        # The run is the wrapper's: take over what the wrapped model would have reported.
        if self.callbacks is None:
            self.callbacks = self.wrapped_model.callbacks
        if self.tags is None:
            self.tags = self.wrapped_model.tags
        if self.wrapped_model.metadata:
            self.metadata = {**self.wrapped_model.metadata, **(self.metadata or {})}
        self.verbose = self.verbose or self.wrapped_model.verbose
        if self.profile is None:
            self.profile = self.wrapped_model.profile
        return self

    # --- identity ---------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return f"headroom-{self.wrapped_model._llm_type}"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "wrapped_model": {
                "_type": self.wrapped_model._llm_type,
                **self.wrapped_model._identifying_params,
            },
            "headroom_config": self.config.fingerprint(),
        }

    @property
    def model_name(self) -> str | None:
        """The wrapped model's name, where LangChain looks for it (e.g. `create_agent`)."""
        for attr in ("model_name", "model", "model_id"):
            value = getattr(self.wrapped_model, attr, None)
            if isinstance(value, str):
                return value
        return None

    @property
    def total_tokens_saved(self) -> int:
        """Input tokens saved by every call so far (shared with bound copies)."""
        return self._totals.tokens_saved

    @property
    def total_calls(self) -> int:
        """Model calls made through this wrapper and its bound copies."""
        return self._totals.calls

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = {**self._extra_call_kwargs, **kwargs}
        return self.wrapped_model._get_ls_params(
            stop=stop if stop is not None else self._default_stop(), **params
        )

    def _resolve_model_profile(self) -> Any:
        return self.wrapped_model.profile

    def _should_stream(
        self,
        *,
        async_api: bool,
        run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> bool:
        if self._streaming_disabled(**kwargs):
            return False
        return self.wrapped_model._should_stream(
            async_api=async_api, run_manager=run_manager, **kwargs
        )

    # --- token counting (offline) -------------------------------------------------

    def _tokenizer_name(self) -> str:
        return self.tokenizer_model or model_name_of(self.wrapped_model)

    def get_num_tokens(self, text: str) -> int:
        return counter_for_model(self._tokenizer_name())(text)

    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[Any] | None = None,
    ) -> int:
        """Tokens of `messages` (and `tools`), counted offline with the wrapped model's tokenizer."""
        count = counter_for_model(self._tokenizer_name())
        total = sum(count_message_tokens(m, count) for m in to_core(messages))
        if tools:
            total += count(json.dumps([convert_to_openai_tool(t) for t in tools], sort_keys=True))
        return total

    # --- compression ----------------------------------------------------------------

    def _default_stop(self) -> list[str] | None:
        return list(self.stop) if self.stop else None

    def _retrieve_tool_kwargs(self) -> list[Any] | None:
        """`headroom_retrieve` formatted by the wrapped model's own `bind_tools`."""
        if self._retrieve_tools is None:
            try:
                bound = self.wrapped_model.bind_tools([retrieve_tool_schema()])
            except NotImplementedError:
                self._retrieve_tools = []
            else:
                tools = bound.kwargs.get("tools") if isinstance(bound, RunnableBinding) else None
                self._retrieve_tools = list(tools) if isinstance(tools, list) else []
        return self._retrieve_tools or None

    def _ccr_kwargs(self, kwargs: dict[str, Any], compressed: Compressed) -> dict[str, Any] | None:
        enabled = self.ccr_retrieve if self.ccr_retrieve is not None else bool(kwargs.get("tools"))
        if not enabled or not compressed.ccr_hashes or self.max_retrieve_rounds == 0:
            return None
        choice = kwargs.get("tool_choice")
        if isinstance(choice, dict) or (
            isinstance(choice, str) and choice not in ("auto", "any", "required")
        ):
            return None  # a forced tool (or none): the model could not call headroom_retrieve
        existing = kwargs.get("tools") or []
        if not isinstance(existing, list):
            return None
        if RETRIEVE_TOOL_NAME in json.dumps(existing, default=str):
            return None  # the caller bound the tool itself and answers it
        extra = self._retrieve_tool_kwargs()
        if extra is None:
            return None
        return {**kwargs, "tools": [*existing, *extra]}

    def _prepare(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> _Request:
        compressed = compress_messages(
            messages,
            model=self._tokenizer_name(),
            config=self.config,
            hooks=self.hooks,
            store=self.store,
            model_limit=self.model_limit,
        )
        self._totals.add(compressed.tokens_saved)
        call_kwargs = {**self._extra_call_kwargs, **kwargs}
        return _Request(
            compressed=compressed,
            stop=stop if stop is not None else self._default_stop(),
            kwargs=call_kwargs,
            ccr_kwargs=self._ccr_kwargs(call_kwargs, compressed),
        )

    def _next_round(
        self, request: _Request, conversation: list[BaseMessage], reply: BaseMessage, rounds: int
    ) -> list[BaseMessage] | None:
        """The conversation for another model call if the reply asked for originals."""
        if (
            request.ccr_kwargs is None
            or rounds >= self.max_retrieve_rounds
            or not isinstance(reply, AIMessage)
        ):
            return None
        calls = retrieve_calls(reply)
        if not calls:
            return None
        return [
            *conversation,
            keep_only_retrieve_calls(reply),
            *answer_retrieve_calls(calls, self.store),
        ]

    def _finish(
        self,
        result: ChatResult,
        request: _Request,
        rounds: int,
        usage: UsageMetadata | None,
        run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None,
    ) -> ChatResult:
        stats = {**request.compressed.stats(), "retrieval_rounds": rounds}
        for generation in result.generations:
            # a copy: the wrapped model's cache may hold this very message
            message = generation.message
            update: dict[str, Any] = {
                "response_metadata": {**message.response_metadata, "headroom": stats}
            }
            if usage is not None and isinstance(message, AIMessage):
                update["usage_metadata"] = add_usage(usage, message.usage_metadata)
            generation.message = message.model_copy(update=update)
        result.llm_output = {**(result.llm_output or {}), "headroom": stats}
        _annotate_trace(run_manager, stats)
        return result

    # --- the four model paths ----------------------------------------------------

    def _generate_with_cache(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._prepare(messages, stop, kwargs)
        conversation = request.compressed.messages
        rounds, usage = 0, None
        while True:
            offer = request.ccr_kwargs is not None and rounds < self.max_retrieve_rounds
            manager = run_manager
            if offer and run_manager is not None:
                manager = cast("CallbackManagerForLLMRun", HidingRunManager(run_manager))
            result = self.wrapped_model._generate_with_cache(
                conversation, stop=request.stop, run_manager=manager, **request.call_kwargs(offer)
            )
            reply = result.generations[0].message
            following = self._next_round(request, conversation, reply, rounds)
            if following is None:
                return self._finish(result, request, rounds, usage, run_manager)
            usage = _accumulate(usage, reply)
            conversation, rounds = following, rounds + 1

    async def _agenerate_with_cache(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._prepare(messages, stop, kwargs)
        conversation = request.compressed.messages
        rounds, usage = 0, None
        while True:
            offer = request.ccr_kwargs is not None and rounds < self.max_retrieve_rounds
            manager = run_manager
            if offer and run_manager is not None:
                manager = cast("AsyncCallbackManagerForLLMRun", AsyncHidingRunManager(run_manager))
            result = await self.wrapped_model._agenerate_with_cache(
                conversation, stop=request.stop, run_manager=manager, **request.call_kwargs(offer)
            )
            reply = result.generations[0].message
            following = self._next_round(request, conversation, reply, rounds)
            if following is None:
                return self._finish(result, request, rounds, usage, run_manager)
            usage = _accumulate(usage, reply)
            conversation, rounds = following, rounds + 1

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate_with_cache(messages, stop=stop, run_manager=run_manager, **kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await self._agenerate_with_cache(
            messages, stop=stop, run_manager=run_manager, **kwargs
        )

    def _wrapped_stream(
        self,
        conversation: list[BaseMessage],
        stop: list[str] | None,
        run_manager: CallbackManagerForLLMRun | None,
        kwargs: dict[str, Any],
    ) -> Iterator[ChatGenerationChunk]:
        model = self.wrapped_model
        if natively_streams(model, async_api=False) and not model._streaming_disabled(**kwargs):
            if model.rate_limiter:
                model.rate_limiter.acquire(blocking=True)
            yield from model._stream(conversation, stop=stop, run_manager=run_manager, **kwargs)
            return
        result = model._generate_with_cache(
            conversation, stop=stop, run_manager=run_manager, **kwargs
        )
        yield as_chunk(result.generations[0])

    async def _awrapped_stream(
        self,
        conversation: list[BaseMessage],
        stop: list[str] | None,
        run_manager: AsyncCallbackManagerForLLMRun | None,
        kwargs: dict[str, Any],
    ) -> AsyncIterator[ChatGenerationChunk]:
        model = self.wrapped_model
        if natively_streams(model, async_api=True) and not model._streaming_disabled(**kwargs):
            if model.rate_limiter:
                await model.rate_limiter.aacquire(blocking=True)
            async for chunk in model._astream(
                conversation, stop=stop, run_manager=run_manager, **kwargs
            ):
                yield chunk
            return
        result = await model._agenerate_with_cache(
            conversation, stop=stop, run_manager=run_manager, **kwargs
        )
        yield as_chunk(result.generations[0])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = self._prepare(messages, stop, kwargs)
        conversation = request.compressed.messages
        first_stats = {**request.compressed.stats(), "retrieval_rounds": 0}
        _annotate_trace(run_manager, first_stats)
        stats: dict[str, Any] | None = first_stats
        rounds = 0
        while True:
            offer = request.ccr_kwargs is not None and rounds < self.max_retrieve_rounds
            hide = RetrieveFilter() if offer else None
            received: list[ChatGenerationChunk] = []
            for chunk in self._wrapped_stream(
                conversation, request.stop, run_manager, request.call_kwargs(offer)
            ):
                received.append(chunk)
                shown = hide.apply(chunk) if hide is not None else chunk
                if shown is None:
                    continue
                if stats is not None:
                    shown, stats = with_metadata(shown, stats), None
                yield shown
            following = (
                self._next_round(request, conversation, merged(received), rounds) if offer else None
            )
            if following is None:
                break
            conversation, rounds = following, rounds + 1
        if rounds:
            yield rounds_chunk(rounds)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        request = self._prepare(messages, stop, kwargs)
        conversation = request.compressed.messages
        first_stats = {**request.compressed.stats(), "retrieval_rounds": 0}
        _annotate_trace(run_manager, first_stats)
        stats: dict[str, Any] | None = first_stats
        rounds = 0
        while True:
            offer = request.ccr_kwargs is not None and rounds < self.max_retrieve_rounds
            hide = RetrieveFilter() if offer else None
            received: list[ChatGenerationChunk] = []
            async for chunk in self._awrapped_stream(
                conversation, request.stop, run_manager, request.call_kwargs(offer)
            ):
                received.append(chunk)
                shown = hide.apply(chunk) if hide is not None else chunk
                if shown is None:
                    continue
                if stats is not None:
                    shown, stats = with_metadata(shown, stats), None
                yield shown
            following = (
                self._next_round(request, conversation, merged(received), rounds) if offer else None
            )
            if following is None:
                break
            conversation, rounds = following, rounds + 1
        if rounds:
            yield rounds_chunk(rounds)

    # --- tools and structured output ---------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Tools formatted by the wrapped model's `bind_tools`, called through compression."""
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        bound = self.wrapped_model.bind_tools(tools, **kwargs)
        return cast("Runnable[LanguageModelInput, AIMessage]", self._reroute(bound, "bind_tools"))

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """The wrapped model's structured output (same `method`), called through compression."""
        runnable = self.wrapped_model.with_structured_output(
            schema, include_raw=include_raw, **kwargs
        )
        return self._reroute(runnable, "with_structured_output")

    def _reroute(self, runnable: Runnable[Any, Any], method: str) -> Runnable[Any, Any]:
        rerouted: Runnable[Any, Any]
        rerouted, found = substitute(runnable, self.wrapped_model, self)
        if not found:
            raise TypeError(
                f"{type(self.wrapped_model).__name__}.{method} returned a {type(runnable).__name__} "
                "that does not call the model in a way Headroom can route through compression"
            )
        return rerouted


def _accumulate(usage: UsageMetadata | None, reply: BaseMessage) -> UsageMetadata | None:
    """Usage of the retrieval rounds, so the final reply reports the whole call's cost."""
    if not isinstance(reply, AIMessage) or reply.usage_metadata is None:
        return usage
    return reply.usage_metadata if usage is None else add_usage(usage, reply.usage_metadata)


def _annotate_trace(
    run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None,
    stats: dict[str, Any],
) -> None:
    """Put the stats in the run's metadata for tracers (LangSmith and others).

    The run was started with the caller's messages; this records what compression
    did to them, patched onto the run when it ends.
    """
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
