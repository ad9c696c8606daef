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

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
    Callbacks,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult, LLMResult
from langchain_core.runnables import Runnable, RunnableBinding, RunnableConfig, ensure_config
from langchain_core.tools import BaseTool
from langchain_core.tracers.base import BaseTracer
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from headroom import RETRIEVE_TOOL_NAME, CCRStore, CompressConfig, CompressionHooks
from headroom.core.retrieve_loop import (
    DEFAULT_MAX_ROUNDS,
    arun_with_retrieval,
    astream_with_retrieval,
    run_with_retrieval,
    stream_with_retrieval,
)
from headroom.core.tokens import count_message_tokens, counter_for_model
from headroom.integrations.langchain.ccr import retrieve_tool_schema
from headroom.integrations.langchain.compression import (
    DEFAULT_CONFIG,
    Compressed,
    compress_messages,
    model_name_of,
)
from headroom.integrations.langchain.converters import to_core
from headroom.integrations.langchain.runnables import substitute
from headroom.integrations.langchain.streaming import (
    ChatRequest,
    ChatRetrieveAdapter,
    as_chunk,
    natively_streams,
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

    def __getstate__(self) -> dict[str, int]:
        return {"tokens_saved": self.tokens_saved, "calls": self.calls}

    def __setstate__(self, state: dict[str, int]) -> None:
        self.__init__()  # type: ignore[misc]
        self.tokens_saved, self.calls = state["tokens_saved"], state["calls"]


@dataclass(frozen=True)
class _Prepared:
    """One message list after compression, and whether the retrieve loop runs for it."""

    compressed: Compressed
    offer: bool


#: Above this many characters of input, async calls compress in a worker thread:
#: compressing ~1 MB takes about a second, which must not stall the event loop.
_OFF_LOOP_CHARS = 16_000


def _size(messages: Sequence[BaseMessage]) -> int:
    return sum(
        len(m.content) if isinstance(m.content, str) else len(str(m.content)) for m in messages
    )


def _key(messages: Sequence[BaseMessage]) -> tuple[int, ...]:
    return tuple(map(id, messages))


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
    max_retrieve_rounds: int = Field(default=DEFAULT_MAX_ROUNDS, ge=0)
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    max_retries: int | None = None
    stop: list[str] | None = None
    streaming: bool = False

    _totals: _Totals = PrivateAttr(default_factory=_Totals)
    _extra_call_kwargs: dict[str, Any] = PrivateAttr(default_factory=dict)
    _retrieve_tools: list[Any] | None = PrivateAttr(default=None)
    _pending: dict[tuple[int, ...], _Prepared] = PrivateAttr(default_factory=dict)
    _configurable: Any = PrivateAttr(default=None)

    def __init__(self, wrapped_model: Any = None, /, **kwargs: Any) -> None:
        if wrapped_model is not None:
            kwargs["wrapped_model"] = wrapped_model
        inner = kwargs.get("wrapped_model")
        configurable: Any = None
        if not isinstance(inner, BaseChatModel) and callable(getattr(inner, "_model_params", None)):
            # `init_chat_model(configurable_fields=...)`: wrap its default model, and
            # the model each call's config selects (see `_for_call`).
            configurable = inner
            kwargs["wrapped_model"] = configurable._model()
        super().__init__(**kwargs)
        self._configurable = configurable

    def _for_call(self, config: RunnableConfig | None) -> HeadroomChatModel:
        """This wrapper, or one around the model a configurable model's `config` selects.

        The copy shares the savings counters, so configured calls are counted.
        """
        if self._configurable is None or not self._configurable._model_params(config):
            return self
        settings = {k: getattr(self, k) for k in self.model_fields_set if k != "wrapped_model"}
        copy = type(self)(self._configurable._model(config), **settings)
        copy._totals = self._totals
        return copy

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
                if not value:
                    continue  # "not streaming" needs no field
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

    def _retrieve_tool_kwargs(self) -> list[Any]:
        """`headroom_retrieve` formatted by the wrapped model's own `bind_tools`."""
        if self._retrieve_tools is None:
            try:
                bound = self.wrapped_model.bind_tools([retrieve_tool_schema()])
            except NotImplementedError:
                self._retrieve_tools = []
            else:
                tools = bound.kwargs.get("tools") if isinstance(bound, RunnableBinding) else None
                self._retrieve_tools = list(tools) if isinstance(tools, list) else []
        return self._retrieve_tools

    def _may_offer(self, kwargs: dict[str, Any]) -> bool:
        """Whether the retrieve tool would be offered if compression leaves a marker."""
        enabled = self.ccr_retrieve if self.ccr_retrieve is not None else bool(kwargs.get("tools"))
        if not enabled or self.max_retrieve_rounds == 0 or not self._retrieve_tool_kwargs():
            return False
        choice = kwargs.get("tool_choice")
        if isinstance(choice, dict) or (
            isinstance(choice, str) and choice not in ("auto", "any", "required")
        ):
            return False  # a forced tool (or none): the model could not call headroom_retrieve
        existing = kwargs.get("tools") or []
        # a caller's own headroom_retrieve is theirs to answer
        return isinstance(existing, list) and RETRIEVE_TOOL_NAME not in json.dumps(
            existing, default=str
        )

    def _prepare(self, messages: Sequence[BaseMessage], kwargs: dict[str, Any]) -> _Prepared:
        may_offer = self._may_offer({**self._extra_call_kwargs, **kwargs})
        config = self.config if may_offer else self.config.replace(markers_name_tool=False)
        compressed = compress_messages(
            list(messages),
            model=self._tokenizer_name(),
            config=config,
            hooks=self.hooks,
            store=self.store,
            model_limit=self.model_limit,
        )
        self._totals.add(compressed.tokens_saved)
        return _Prepared(compressed, may_offer and bool(compressed.ccr_hashes))

    async def _aprepare(self, messages: Sequence[BaseMessage], kwargs: dict[str, Any]) -> _Prepared:
        if _size(messages) < _OFF_LOOP_CHARS:
            return self._prepare(messages, kwargs)
        return await asyncio.to_thread(self._prepare, messages, kwargs)

    def _offer_kwargs(
        self, kwargs: dict[str, Any], prepared: Sequence[_Prepared]
    ) -> dict[str, Any]:
        """The call's kwargs, with `headroom_retrieve` when it is offered (so traces show it)."""
        if not any(p.offer for p in prepared):
            return kwargs
        existing = list(kwargs.get("tools") or self._extra_call_kwargs.get("tools") or [])
        return {**kwargs, "tools": [*existing, *self._retrieve_tool_kwargs()]}

    def _register(self, prepared: Sequence[_Prepared]) -> list[tuple[int, ...]]:
        keys = [_key(p.compressed.messages) for p in prepared]
        self._pending.update(zip(keys, prepared, strict=True))
        return keys

    def _release(self, keys: list[tuple[int, ...]]) -> None:
        for key in keys:
            self._pending.pop(key, None)

    def _loop_for(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None,
    ) -> tuple[ChatRequest, dict[str, Any], list[str] | None]:
        """The loop's first request, its options and the stop words, for prepared messages."""
        prepared = self._pending.get(_key(messages))
        if prepared is None:  # called below `generate` (e.g. by a test harness)
            prepared = self._prepare(messages, kwargs)
            kwargs = self._offer_kwargs(kwargs, [prepared])
        stats = prepared.compressed.stats()
        _annotate_trace(run_manager, {**stats, "retrieval_rounds": 0})
        adapter = ChatRetrieveAdapter(self._retrieve_tool_kwargs(), stats)
        call_kwargs = {**self._extra_call_kwargs, **kwargs}
        request = ChatRequest(prepared.compressed.messages, call_kwargs)
        if not prepared.offer:
            request = adapter.withdraw_tool(request) if self._retrieve_tool_kwargs() else request
        options = {
            "adapter": adapter,
            "store": self.store,
            "max_rounds": self.max_retrieve_rounds,
            "offer": prepared.offer,
        }
        return request, options, stop if stop is not None else self._default_stop()

    # --- where LangChain starts the run: compress first, so traces show what is sent ---

    def generate(
        self,
        messages: list[list[BaseMessage]],
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        **kwargs: Any,
    ) -> LLMResult:
        prepared = [self._prepare(m, kwargs) for m in messages]
        keys = self._register(prepared)
        try:
            return super().generate(
                [p.compressed.messages for p in prepared],
                stop,
                callbacks,
                **_with_metadata(self._offer_kwargs(kwargs, prepared), prepared),
            )
        finally:
            self._release(keys)

    async def agenerate(
        self,
        messages: list[list[BaseMessage]],
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        **kwargs: Any,
    ) -> LLMResult:
        prepared = [await self._aprepare(m, kwargs) for m in messages]
        keys = self._register(prepared)
        try:
            return await super().agenerate(
                [p.compressed.messages for p in prepared],
                stop,
                callbacks,
                **_with_metadata(self._offer_kwargs(kwargs, prepared), prepared),
            )
        finally:
            self._release(keys)

    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        model = self._for_call(config)
        if model is not self:
            return model.invoke(input, config, stop=stop, **kwargs)
        return super().invoke(input, config, stop=stop, **kwargs)

    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        model = self._for_call(config)
        if model is not self:
            return await model.ainvoke(input, config, stop=stop, **kwargs)
        return await super().ainvoke(input, config, stop=stop, **kwargs)

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        if (model := self._for_call(config)) is not self:
            yield from model.stream(input, config, stop=stop, **kwargs)
            return
        if not self._should_stream(async_api=False, **{**kwargs, "stream": True}):
            yield from super().stream(input, config, stop=stop, **kwargs)  # via generate
            return
        prepared = self._prepare(self._convert_input(input).to_messages(), kwargs)
        keys = self._register([prepared])
        try:
            yield from super().stream(
                prepared.compressed.messages,
                _config_with_stats(config, prepared),
                stop=stop,
                **self._offer_kwargs(kwargs, [prepared]),
            )
        finally:
            self._release(keys)

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        if (model := self._for_call(config)) is not self:
            async for chunk in model.astream(input, config, stop=stop, **kwargs):
                yield chunk
            return
        if not self._should_stream(async_api=True, **{**kwargs, "stream": True}):
            async for chunk in super().astream(input, config, stop=stop, **kwargs):
                yield chunk
            return
        prepared = await self._aprepare(self._convert_input(input).to_messages(), kwargs)
        keys = self._register([prepared])
        try:
            async for chunk in super().astream(
                prepared.compressed.messages,
                _config_with_stats(config, prepared),
                stop=stop,
                **self._offer_kwargs(kwargs, [prepared]),
            ):
                yield chunk
        finally:
            self._release(keys)

    # --- the model paths: the core retrieve loop around the wrapped model ----------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request, options, stop = self._loop_for(messages, stop, kwargs, run_manager)
        model = self.wrapped_model

        def call(req: ChatRequest) -> ChatResult:
            return model._generate_with_cache(req.messages, stop=stop, **req.kwargs)

        result, _ = run_with_retrieval(request, call, **options)
        _annotate_trace(run_manager, result.llm_output["headroom"])
        return cast("ChatResult", result)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request, options, stop = self._loop_for(messages, stop, kwargs, run_manager)
        model = self.wrapped_model

        async def call(req: ChatRequest) -> ChatResult:
            return await model._agenerate_with_cache(req.messages, stop=stop, **req.kwargs)

        result, _ = await arun_with_retrieval(request, call, **options)
        _annotate_trace(run_manager, result.llm_output["headroom"])
        return cast("ChatResult", result)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request, options, stop = self._loop_for(messages, stop, kwargs, run_manager)
        model = self.wrapped_model

        def round_stream(req: ChatRequest) -> Iterator[ChatGenerationChunk]:
            # no run manager: only the chunks this wrapper yields reach callbacks
            if natively_streams(model, async_api=False) and not model._streaming_disabled(
                **req.kwargs
            ):
                if model.rate_limiter:
                    model.rate_limiter.acquire(blocking=True)
                yield from model._stream(req.messages, stop=stop, **req.kwargs)
            else:
                result = model._generate_with_cache(req.messages, stop=stop, **req.kwargs)
                yield as_chunk(result.generations[0])

        yield from stream_with_retrieval(request, round_stream, **options)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        request, options, stop = self._loop_for(messages, stop, kwargs, run_manager)
        model = self.wrapped_model

        async def round_stream(req: ChatRequest) -> AsyncIterator[ChatGenerationChunk]:
            if natively_streams(model, async_api=True) and not model._streaming_disabled(
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


def _with_metadata(kwargs: dict[str, Any], prepared: Sequence[_Prepared]) -> dict[str, Any]:
    """`generate` kwargs whose run metadata carries the stats (one message list only)."""
    if len(prepared) != 1:
        return kwargs
    stats = {**prepared[0].compressed.stats(), "retrieval_rounds": 0}
    return {**kwargs, "metadata": {**(kwargs.get("metadata") or {}), "headroom": stats}}


def _config_with_stats(config: RunnableConfig | None, prepared: _Prepared) -> RunnableConfig:
    """A stream's config whose run metadata carries the stats."""
    config = ensure_config(config)
    stats = {**prepared.compressed.stats(), "retrieval_rounds": 0}
    return {**config, "metadata": {**(config.get("metadata") or {}), "headroom": stats}}


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
