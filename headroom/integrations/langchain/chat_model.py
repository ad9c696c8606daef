"""`HeadroomChatModel`: any LangChain chat model, sent fewer input tokens.

Convert in, call the core, convert out: compression runs where LangChain
starts the run (`calls.py`), so the trace's input is what is sent; the model
paths run the core retrieve loop around the wrapped model, each provider call
a child run (`rounds.py`); `bind_tools` / `with_structured_output` are the
wrapped model's own, rerouted through the wrapper.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
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
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from headroom import CCRStore, CompressConfig, CompressionHooks
from headroom.core.options import DEFAULT_MAX_RETRIEVE_ROUNDS, RetrieveTool
from headroom.core.tokens import count_message_tokens, counter_for_model
from headroom.integrations.langchain import calls, rounds, runs, settings
from headroom.integrations.langchain.compression import DEFAULT_CONFIG
from headroom.integrations.langchain.converters import to_core
from headroom.integrations.langchain.runnables import reroute

__all__ = ["HeadroomChatModel"]


class HeadroomChatModel(BaseChatModel):
    """A chat model that compresses what it sends, then calls the model it wraps.

    Use it wherever the wrapped model would go: chains, `create_agent`, LangGraph
    agents, `with_structured_output`, streaming. Only the input shrinks.

    Example:
        ```python
        llm = HeadroomChatModel(ChatOpenAI(model="gpt-4o"))
        llm.invoke(messages).response_metadata["headroom"]["tokens_saved"]
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
        retrieve_tool: Offer `headroom_retrieve` and answer its calls from the
            store, transparently: "auto" (default) when tools are bound,
            "always", or "never" (markers then name no call).
        ccr_retrieve: The older name: None, True, False mean auto, always, never.
        max_retrieve_rounds: Answered retrieval rounds per call; then one last
            call without the tool.
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
    retrieve_tool: RetrieveTool = "auto"
    ccr_retrieve: bool | None = None
    max_retrieve_rounds: int = Field(default=DEFAULT_MAX_RETRIEVE_ROUNDS, ge=0)
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    max_retries: int | None = None
    stop: list[str] | None = None
    streaming: bool = False

    _state: calls.State = PrivateAttr(default_factory=calls.State)

    def __init__(self, wrapped_model: Any = None, /, **kwargs: Any) -> None:
        if wrapped_model is not None:
            kwargs["wrapped_model"] = wrapped_model
        configurable = settings.unwrap_configurable(kwargs)
        super().__init__(**kwargs)
        calls.state(self).configurable = configurable

    @model_validator(mode="after")
    def _adopt_wrapped_model(self) -> HeadroomChatModel:
        settings.adopt(self)
        return self

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
        return calls.state(self).totals.snapshot()["tokens_saved"]

    @property
    def total_calls(self) -> int:
        """Model calls made through this wrapper and its bound copies."""
        return calls.state(self).totals.snapshot()["calls"]

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = {**calls.state(self).extra_kwargs, **kwargs}
        return self.wrapped_model._get_ls_params(
            stop=stop if stop is not None else (list(self.stop) if self.stop else None), **params
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

    def get_num_tokens(self, text: str) -> int:
        return counter_for_model(calls.tokenizer_name(self))(text)

    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[Any] | None = None,
    ) -> int:
        """Tokens of `messages` (and `tools`), counted offline with the wrapped model's tokenizer."""
        count = counter_for_model(calls.tokenizer_name(self))
        total = sum(count_message_tokens(m, count) for m in to_core(messages))
        if tools:
            total += count(json.dumps([convert_to_openai_tool(t) for t in tools], sort_keys=True))
        return total

    def generate(
        self,
        messages: list[list[BaseMessage]],
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        **kwargs: Any,
    ) -> LLMResult:
        prepared = [calls.prepare(self, m, kwargs) for m in messages]
        with calls.registered(self, prepared):
            sent = [p.compressed.messages for p in prepared]
            run_kwargs = calls.run_kwargs(self, kwargs, prepared)
            return super().generate(sent, stop, callbacks, **run_kwargs)

    async def agenerate(
        self,
        messages: list[list[BaseMessage]],
        stop: list[str] | None = None,
        callbacks: Callbacks = None,
        **kwargs: Any,
    ) -> LLMResult:
        prepared = [await calls.aprepare(self, m, kwargs) for m in messages]
        with calls.registered(self, prepared):
            sent = [p.compressed.messages for p in prepared]
            run_kwargs = calls.run_kwargs(self, kwargs, prepared)
            return await super().agenerate(sent, stop, callbacks, **run_kwargs)

    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        if (model := settings.for_call(self, config)) is not self:
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
        if (model := settings.for_call(self, config)) is not self:
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
        if (model := settings.for_call(self, config)) is not self:
            yield from model.stream(input, config, stop=stop, **kwargs)
        elif not self._should_stream(async_api=False, **{**kwargs, "stream": True}):
            yield from super().stream(input, config, stop=stop, **kwargs)  # via generate
        else:
            yield from rounds.stream_call(self, super().stream, input, config, stop, kwargs)

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        if (model := settings.for_call(self, config)) is not self:
            stream = model.astream(input, config, stop=stop, **kwargs)
        elif not self._should_stream(async_api=True, **{**kwargs, "stream": True}):
            stream = super().astream(input, config, stop=stop, **kwargs)
        else:
            stream = rounds.astream_call(self, super().astream, input, config, stop, kwargs)
        async for chunk in stream:
            yield chunk

    def _generate_with_cache(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if not runs.bookkeeping_needed(self, run_manager, kwargs, async_api=False):
            return self._generate(messages, stop, run_manager, **kwargs)
        with runs.with_run(self, run_manager):
            return super()._generate_with_cache(messages, stop, run_manager, **kwargs)

    async def _agenerate_with_cache(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if not runs.bookkeeping_needed(self, run_manager, kwargs, async_api=True):
            return await self._agenerate(messages, stop, run_manager, **kwargs)
        with runs.with_run(self, run_manager):
            return await super()._agenerate_with_cache(messages, stop, run_manager, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return rounds.generate(self, messages, stop, run_manager, kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await rounds.agenerate(self, messages, stop, run_manager, kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        return rounds.stream(self, messages, stop, run_manager, kwargs)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        async for chunk in rounds.astream(self, messages, stop, run_manager, kwargs):
            yield chunk

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
        return cast(
            "Runnable[LanguageModelInput, AIMessage]",
            reroute(bound, self.wrapped_model, self, "bind_tools"),
        )

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
        return reroute(runnable, self.wrapped_model, self, "with_structured_output")
