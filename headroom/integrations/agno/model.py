"""`HeadroomAgnoModel`: any agno `Model`, sending fewer input tokens.

Agno's tool loop (`response*` on the Model base class) calls `self.invoke*`
once per model turn and, around it, a handful of methods that providers
override (`parse_tool_calls` merges streamed tool-call deltas,
`format_function_call_results`, `get_system_message_for_model`, ...). The
wrapper runs that same loop as the wrapped model would: it compresses a copy
of the messages in each `invoke*` and forwards every provider hook, so
streaming, tools, structured output and media behave as without it. The
compressed copy is what the provider sees; the run, the session and the
caller's list keep the original messages.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Literal

from agno.models.base import Model
from agno.models.message import Message
from agno.models.response import ModelResponse
from agno.tools.function import Function
from pydantic import BaseModel

from headroom.core import (
    RETRIEVE_TOOL_NAME,
    CCRStore,
    CompressConfig,
    CompressionHooks,
    CompressionResult,
    TokenCounter,
    compress,
    counter_for_model,
)
from headroom.core.tokens import count_message_tokens
from headroom.integrations.agno.ccr import has_markers, retrieve_function, tool_name
from headroom.integrations.agno.converters import from_core, to_core

__all__ = ["HeadroomAgnoModel", "RetrieveToolMode"]

logger = logging.getLogger("headroom")

RetrieveToolMode = Literal["auto", "always", "never"]

#: Every field of agno's Model dataclass: read and written through to the wrapped model,
#: so the Agent sees its id, provider, structured-output flags, roles and retry settings.
_MIRRORED: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Model))

#: Media attached to a message is sent as-is; counted at a flat typical cost.
_MEDIA_TOKENS = 765

#: Keys this wrapper adds to `RunOutput.metrics.additional_metrics` (summed by agno per session).
RUN_METRIC_KEYS = (
    "headroom_requests",
    "headroom_tokens_before",
    "headroom_tokens_after",
    "headroom_tokens_saved",
)


class _Totals:
    """Running totals shared by a wrapper and its copies; safe across threads and tasks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.tokens_before = 0
        self.tokens_after = 0
        self.tokens_saved = 0

    def add(self, result: CompressionResult) -> None:
        with self._lock:
            self.requests += 1
            self.tokens_before += result.tokens_before
            self.tokens_after += result.tokens_after
            self.tokens_saved += result.tokens_saved

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {
                "requests": self.requests,
                "tokens_before": self.tokens_before,
                "tokens_after": self.tokens_after,
                "tokens_saved": self.tokens_saved,
            }

    def reset(self) -> None:
        with self._lock:
            self.requests = self.tokens_before = self.tokens_after = self.tokens_saved = 0


def _split_call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list[Message], bool]:
    messages = kwargs["messages"] if "messages" in kwargs else args[0]
    return messages, bool(kwargs.get("compress_tool_results", False))


def _with_messages(
    args: tuple[Any, ...], kwargs: dict[str, Any], messages: list[Message]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if "messages" in kwargs:
        return args, {**kwargs, "messages": messages}
    return (messages, *args[1:]), kwargs


def _schema_text(schema: Any) -> str:
    if schema is None:
        return ""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return json.dumps(schema.model_json_schema())
    try:
        return json.dumps(schema, default=str)
    except (TypeError, ValueError):
        return str(schema)


def _tools_text(tools: Sequence[Any] | None) -> str:
    if not tools:
        return ""
    dicts = [t.to_dict() if isinstance(t, Function) else t for t in tools]
    return json.dumps(dicts, default=str)


def _media_count(message: Message) -> int:
    return sum(
        len(items or ()) for items in (message.images, message.audio, message.videos, message.files)
    )


class HeadroomAgnoModel(Model):
    """Wrap an agno `Model` so every request it sends is compressed by Headroom.

    Use it wherever the wrapped model would go::

        model = HeadroomAgnoModel(Claude(id="claude-sonnet-4-20250514"))
        agent = Agent(model=model, tools=[...])
        agent.run("Investigate the issue")
        print(model.total_tokens_saved)

    Each run's savings are added to ``run_output.metrics.additional_metrics``
    (keys ``headroom_tokens_before``, ``headroom_tokens_after``,
    ``headroom_tokens_saved``, ``headroom_requests``).

    Args:
        model: The agno model to wrap (OpenAIChat, Claude, Gemini, LiteLLM, ...).
        config: Compression settings; `CompressConfig()` when omitted.
        hooks: `CompressionHooks` to steer or observe compression.
        store: Where originals of lossy steps go (and `headroom_retrieve` reads);
            the process default store when omitted.
        token_counter: Count tokens with this instead of the model's offline tokenizer.
        model_limit: Context window to fit into; the model's known window when omitted.
        retrieve_tool: Offer the model the `headroom_retrieve` tool: ``"auto"`` only
            on requests that carry a lossy marker, ``"always"``, or ``"never"``.

    Raises:
        TypeError: `model` is not an agno `Model` (or is already a `HeadroomAgnoModel`).
    """

    _totals: _Totals

    def __init__(
        self,
        model: Model,
        *,
        config: CompressConfig | None = None,
        hooks: CompressionHooks | None = None,
        store: CCRStore | None = None,
        token_counter: TokenCounter | None = None,
        model_limit: int | None = None,
        retrieve_tool: RetrieveToolMode = "auto",
    ) -> None:
        if isinstance(model, HeadroomAgnoModel):
            raise TypeError(
                "the model is already a HeadroomAgnoModel; wrap the provider model once"
            )
        if not isinstance(model, Model):
            raise TypeError(
                f"HeadroomAgnoModel wraps an agno Model (e.g. OpenAIChat, Claude, LiteLLM); got {model!r}"
            )
        if retrieve_tool not in ("auto", "always", "never"):
            raise ValueError(
                f"retrieve_tool must be 'auto', 'always' or 'never', not {retrieve_tool!r}"
            )
        # Set through __dict__: the mirrored fields are properties that read `_wrapped`.
        self.__dict__["_wrapped"] = model
        self.__dict__["_totals"] = _Totals()
        self.config = config or CompressConfig()
        self.hooks = hooks
        self.store = store
        self.token_counter = token_counter
        self.model_limit = model_limit
        self.retrieve_tool = retrieve_tool
        self.last_result: CompressionResult | None = None

    # -- what the caller reads ------------------------------------------------------

    @property
    def wrapped_model(self) -> Model:
        """The provider model requests are sent through."""
        wrapped: Model = self.__dict__["_wrapped"]
        return wrapped

    @property
    def total_tokens_saved(self) -> int:
        """Input tokens saved over every request so far (this wrapper and its copies)."""
        return self._totals.snapshot()["tokens_saved"]

    @property
    def stats(self) -> dict[str, int]:
        """Totals so far: ``requests``, ``tokens_before``, ``tokens_after``, ``tokens_saved``."""
        return self._totals.snapshot()

    def reset_stats(self) -> None:
        """Start the running totals again from zero."""
        self._totals.reset()

    @property  # type: ignore[misc]
    def __class__(self) -> type[Any]:
        """The wrapped model's class, for agno's class checks (native reasoning detection
        compares class names); `type(model)` is still `HeadroomAgnoModel`."""
        return type(self.wrapped_model)

    def __copy__(self) -> HeadroomAgnoModel:
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __getattr__(self, name: str) -> Any:
        # Provider-specific attributes (temperature, client, role_map, ...) read through.
        if name.startswith("__") or name == "_wrapped":
            raise AttributeError(name)
        wrapped = self.__dict__.get("_wrapped")
        if wrapped is None:
            raise AttributeError(name)
        return getattr(wrapped, name)

    def __repr__(self) -> str:
        return f"HeadroomAgnoModel({self.wrapped_model!r})"

    def __deepcopy__(self, memo: dict[int, Any]) -> HeadroomAgnoModel:
        """Copies wrap a copy of the provider model and share totals, store and hooks."""
        from copy import deepcopy

        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            if key == "_retrieve_fn":  # holds the store; rebuilt on first use
                continue
            if key in ("_totals", "store", "hooks", "token_counter", "config", "last_result"):
                new.__dict__[key] = value
            else:
                new.__dict__[key] = deepcopy(value, memo)
        return new

    # -- compression ----------------------------------------------------------------

    def _compress(
        self, messages: Sequence[Message], use_compressed_content: bool
    ) -> tuple[list[Message], CompressionResult | None]:
        """The messages to send; the originals (and None) if anything goes wrong."""
        try:
            sent = to_core(messages, use_compressed_content=use_compressed_content)
            result = compress(
                sent,
                model=self.id,
                model_limit=self.model_limit,
                config=self.config,
                hooks=self.hooks,
                store=self.store,
                token_counter=self.token_counter,
            )
            out = from_core(
                messages, sent, result.messages, use_compressed_content=use_compressed_content
            )
        except Exception:
            if not self.config.fail_open:
                raise
            logger.warning("headroom: agno request sent uncompressed after an error", exc_info=True)
            return list(messages), None
        return out, result

    def _record(self, result: CompressionResult, run_response: Any) -> None:
        self._totals.add(result)
        self.last_result = result
        metrics = getattr(run_response, "metrics", None)
        if metrics is None:
            return
        extra = metrics.additional_metrics
        if extra is None:
            extra = metrics.additional_metrics = {}
        values = (1, result.tokens_before, result.tokens_after, result.tokens_saved)
        for key, value in zip(RUN_METRIC_KEYS, values, strict=True):
            extra[key] = int(extra.get(key, 0)) + value

    def _offer_retrieve(
        self, tools: Any, messages: Sequence[Message], result: CompressionResult | None
    ) -> Any:
        """Drop `headroom_retrieve` from a request with nothing to retrieve (``"auto"`` mode)."""
        if self.retrieve_tool != "auto" or not tools:
            return tools
        if result is not None and (result.ccr_hashes or has_markers(result.messages)):
            return tools
        if result is None and has_markers(to_core(messages)):
            return tools
        return [t for t in tools if tool_name(t) != RETRIEVE_TOOL_NAME]

    def _prepare(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        messages, use_cc = _split_call(args, kwargs)
        sent, result = self._compress(messages, use_cc)
        if result is not None:
            self._record(result, kwargs.get("run_response"))
        args, kwargs = _with_messages(args, kwargs, sent)
        if "tools" in kwargs:
            kwargs["tools"] = self._offer_retrieve(kwargs["tools"], sent, result)
        return args, kwargs

    async def _aprepare(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        # Compression is CPU work of a few milliseconds on large outputs: keep it off the loop.
        return await asyncio.to_thread(self._prepare, args, kwargs)

    def compress_messages(
        self, messages: Sequence[Message], *, use_compressed_content: bool = False
    ) -> list[Message]:
        """The messages this wrapper would send for `messages` (originals untouched)."""
        return self._compress(messages, use_compressed_content)[0]

    # -- the four calls agno's loop makes once per model turn ---------------------------

    def invoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        args, kwargs = self._prepare(args, kwargs)
        response: ModelResponse = self.wrapped_model.invoke(*args, **kwargs)
        return response

    async def ainvoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        args, kwargs = await self._aprepare(args, kwargs)
        response: ModelResponse = await self.wrapped_model.ainvoke(*args, **kwargs)
        return response

    def invoke_stream(self, *args: Any, **kwargs: Any) -> Iterator[ModelResponse]:
        args, kwargs = self._prepare(args, kwargs)
        yield from self.wrapped_model.invoke_stream(*args, **kwargs)

    async def ainvoke_stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ModelResponse]:  # type: ignore[override]
        args, kwargs = await self._aprepare(args, kwargs)
        async for delta in self.wrapped_model.ainvoke_stream(*args, **kwargs):
            yield delta

    # -- the loop itself, with `headroom_retrieve` among the tools -----------------------

    def _retrieve_function(self) -> Function:
        cached = self.__dict__.get("_retrieve_fn")
        if cached is None or cached[0] is not self.store:
            cached = (self.store, retrieve_function(self.store))
            self.__dict__["_retrieve_fn"] = cached
        fn: Function = cached[1]
        return fn

    def _with_retrieve(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if self.retrieve_tool == "never" or not (self.config.ccr and self.config.lossy):
            return args, kwargs
        if len(args) > 2:  # tools passed positionally: messages, response_format, tools
            tools, args = args[2], (*args[:2], *args[3:])
        else:
            tools = kwargs.get("tools")
        tools = list(tools or [])
        if not any(tool_name(t) == RETRIEVE_TOOL_NAME for t in tools):
            tools.append(self._retrieve_function())
        return args, {**kwargs, "tools": tools}

    def response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        args, kwargs = self._with_retrieve(args, kwargs)
        return super().response(*args, **kwargs)

    async def aresponse(self, *args: Any, **kwargs: Any) -> ModelResponse:
        args, kwargs = self._with_retrieve(args, kwargs)
        return await super().aresponse(*args, **kwargs)

    def response_stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        args, kwargs = self._with_retrieve(args, kwargs)
        return super().response_stream(*args, **kwargs)

    def aresponse_stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        args, kwargs = self._with_retrieve(args, kwargs)
        return super().aresponse_stream(*args, **kwargs)

    # -- provider hooks the loop calls on `self`: the wrapped provider's own ------------

    def _parse_provider_response(self, response: Any, **kwargs: Any) -> ModelResponse:
        parsed: ModelResponse = self.wrapped_model._parse_provider_response(response, **kwargs)
        return parsed

    def _parse_provider_response_delta(self, response: Any) -> ModelResponse:
        parsed: ModelResponse = self.wrapped_model._parse_provider_response_delta(response)
        return parsed

    def parse_tool_calls(self, tool_calls_data: list[dict[str, Any]]) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = self.wrapped_model.parse_tool_calls(tool_calls_data)
        return calls

    def format_function_call_results(
        self,
        messages: list[Message],
        function_call_results: list[Message],
        compress_tool_results: bool = False,
        **kwargs: Any,
    ) -> None:
        self.wrapped_model.format_function_call_results(
            messages=messages,
            function_call_results=function_call_results,
            compress_tool_results=compress_tool_results,
            **kwargs,
        )

    def _format_tools(self, tools: list[Function | dict[str, Any]] | None) -> list[dict[str, Any]]:
        formatted: list[dict[str, Any]] = self.wrapped_model._format_tools(tools)
        return formatted

    def get_system_message_for_model(self, tools: list[Any] | None = None) -> str | None:
        message: str | None = self.wrapped_model.get_system_message_for_model(tools)
        return message

    def get_instructions_for_model(self, tools: list[Any] | None = None) -> list[str] | None:
        instructions: list[str] | None = self.wrapped_model.get_instructions_for_model(tools)
        return instructions

    def get_provider(self) -> str:
        provider: str = self.wrapped_model.get_provider()
        return provider

    def to_dict(self) -> dict[str, Any]:
        """The wrapped model's dict: a stored agent config reloads the provider model."""
        data: dict[str, Any] = self.wrapped_model.to_dict()
        return data

    # -- token counting: offline, on what would actually be sent -------------------------

    def count_tokens(
        self,
        messages: list[Message],
        tools: Sequence[Function | dict[str, Any]] | None = None,
        output_schema: dict[str, Any] | type[BaseModel] | None = None,
    ) -> int:
        """Input tokens of the compressed request, counted offline (never the provider's API).

        Claude and Gemini count over the network; agno calls `count_tokens` from
        compression and compaction checks, so the wrapper counts locally with the
        wrapped model's tokenizer (o200k with a margin where it is not public).
        """
        count = self.token_counter or counter_for_model(self.id)
        sent, result = self._compress(messages, use_compressed_content=True)
        if result is not None:
            total = result.tokens_after
        else:
            total = sum(
                count_message_tokens(m, count) for m in to_core(sent, use_compressed_content=True)
            )
        total += _MEDIA_TOKENS * sum(_media_count(m) for m in sent)
        total += count(_tools_text(tools)) + count(_schema_text(output_schema))
        return total

    async def acount_tokens(
        self,
        messages: list[Message],
        tools: Sequence[Function | dict[str, Any]] | None = None,
        output_schema: dict[str, Any] | type[BaseModel] | None = None,
    ) -> int:
        return await asyncio.to_thread(self.count_tokens, messages, tools, output_schema)


def _mirror(name: str) -> property:
    def fget(self: HeadroomAgnoModel) -> Any:
        return getattr(self.wrapped_model, name)

    def fset(self: HeadroomAgnoModel, value: Any) -> None:
        setattr(self.wrapped_model, name, value)

    return property(fget, fset, doc=f"The wrapped model's `{name}`.")


for _name in _MIRRORED:
    setattr(HeadroomAgnoModel, _name, _mirror(_name))
del _name
