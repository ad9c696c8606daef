"""`HeadroomAgnoModel`: any agno `Model`, sending fewer input tokens.

A real subclass of the provider's class (see `wrapping`) that overrides only
what Headroom changes: the four `invoke*` calls agno's loop makes once per
model turn (convert in, compress, convert out, then the provider's own call),
the retrieve tool's entry points (`ccr.RetrieveInLoop`) and token counting.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from agno.models.base import Model
from agno.models.message import Message
from agno.models.response import ModelResponse
from agno.tools.function import Function
from pydantic import BaseModel

from headroom.core import (
    CCRStore,
    CompressConfig,
    CompressionHooks,
    CompressionResult,
    TokenCounter,
    compress,
    counter_for_model,
)
from headroom.core.counters import Counters
from headroom.core.options import DEFAULT_MAX_RETRIEVE_ROUNDS, RetrieveTool
from headroom.integrations.agno.ccr import RetrieveInLoop, offer_retrieve, retrieve_rounds
from headroom.integrations.agno.converters import from_core, to_core
from headroom.integrations.agno.stats import count_request, extra_tokens, message_tokens, new_totals
from headroom.integrations.agno.wrapping import Wrapping, rebuild

__all__ = ["HeadroomAgnoModel"]

logger = logging.getLogger("headroom")

#: Shared, not copied, by `copy.deepcopy` (agno deep-copies models for background work).
_SHARED = ("headroom_config", "headroom_hooks", "headroom_store", "headroom_token_counter",
           "headroom_totals", "headroom_last_result")  # fmt: skip


@functools.lru_cache(maxsize=64)
def _without_tool_call(config: CompressConfig) -> CompressConfig:
    """`config` with markers that name no call (memoized: validation costs ~50 µs)."""
    return config.replace(markers_name_tool=False)


@dataclasses.dataclass(init=False, eq=False, repr=False)  # fields for the per-provider classes
class HeadroomAgnoModel(RetrieveInLoop, metaclass=Wrapping):
    """Wrap an agno `Model` so every request it sends is compressed by Headroom.

    Use it wherever the wrapped model would go::

        model = HeadroomAgnoModel(Claude(id="claude-sonnet-4-20250514"))
        agent = Agent(model=model, tools=[...])
        agent.run("Investigate the issue")
        print(model.total_tokens_saved)

    The result is an instance of the provider's class (``isinstance(model, Claude)``)
    with the provider's settings copied: set provider fields on it
    (``model.temperature = 0``, ``model.store = False``), not on the model passed in.
    Each run's savings are added to ``run_output.metrics.additional_metrics``.

    Args:
        model: The agno model to wrap (OpenAIChat, Claude, Gemini, LiteLLM, ...).
        config: Compression settings; `CompressConfig()` when omitted (``headroom_config``).
        hooks: `CompressionHooks` to steer or observe compression (``headroom_hooks``).
        store: Where originals of lossy steps go (and `headroom_retrieve` reads);
            the process default store when omitted (``headroom_store``).
        token_counter: Count tokens with this instead of the model's offline tokenizer.
        model_limit: Context window to fit into; the model's known window when omitted.
        retrieve_tool: Offer the model the `headroom_retrieve` tool: ``"auto"`` only
            on requests that carry a lossy marker, ``"always"``, or ``"never"``
            (markers then name no call); True/False read as always/never.
        max_retrieve_rounds: Model turns per run that may call `headroom_retrieve`;
            then the tool is withdrawn so the model answers (``0``: never offered).

    Raises:
        TypeError: `model` is not an agno `Model` (or is already a `HeadroomAgnoModel`).
        ConfigurationError: `retrieve_tool` is none of those.
    """

    headroom_config: CompressConfig = dataclasses.field(default_factory=CompressConfig)
    headroom_hooks: CompressionHooks | None = None
    headroom_store: CCRStore | None = None
    headroom_token_counter: TokenCounter | None = None
    headroom_model_limit: int | None = None
    headroom_retrieve_tool: RetrieveTool = "auto"
    headroom_max_retrieve_rounds: int = DEFAULT_MAX_RETRIEVE_ROUNDS
    headroom_totals: Counters = dataclasses.field(default_factory=new_totals, repr=False)
    headroom_last_result: CompressionResult | None = dataclasses.field(default=None, init=False)
    _headroom_provider: ClassVar[type[Model]]
    _headroom_root = True  # calling this class wraps (see `Wrapping`); its subclasses construct

    if TYPE_CHECKING:

        def __init__(
            self,
            model: Model,
            *,
            config: CompressConfig | None = None,
            hooks: CompressionHooks | None = None,
            store: CCRStore | None = None,
            token_counter: TokenCounter | None = None,
            model_limit: int | None = None,
            retrieve_tool: RetrieveTool | bool | None = "auto",
            max_retrieve_rounds: int = DEFAULT_MAX_RETRIEVE_ROUNDS,
        ) -> None: ...

    # -- what the caller reads ------------------------------------------------------

    @property
    def total_tokens_saved(self) -> int:
        """Input tokens saved over every request so far (this model and its copies)."""
        return self.headroom_totals.snapshot()["tokens_saved"]

    @property
    def total_calls(self) -> int:
        """Requests compressed so far (this model and its copies)."""
        return self.headroom_totals.snapshot()["requests"]

    @property
    def stats(self) -> dict[str, int]:
        """Totals so far: ``requests``, ``tokens_before``, ``tokens_after``, ``tokens_saved``."""
        return self.headroom_totals.snapshot()

    @property
    def last_result(self) -> CompressionResult | None:
        """The last request's `CompressionResult` (transforms applied, CCR hashes)."""
        return self.headroom_last_result

    def reset_stats(self) -> None:
        """Start the running totals again from zero."""
        self.headroom_totals.reset()

    def unwrap(self) -> Model:
        """A bare provider model with this model's current settings (no Headroom)."""
        bare = self._headroom_provider.__new__(self._headroom_provider)
        bare.__dict__.update(
            {k: v for k, v in self.__dict__.items() if not k.startswith(("headroom_", "_headroom"))}
        )
        return bare

    # -- copies ---------------------------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as (provider class, state): the generated subclass is rebuilt on load."""
        state = {k: v for k, v in self.__dict__.items() if k != "_headroom_retrieve_fn"}
        return (rebuild, (HeadroomAgnoModel, self._headroom_provider, state))

    def __deepcopy__(self, memo: dict[int, Any]) -> HeadroomAgnoModel:
        """The provider's own deep copy; settings, store, hooks and totals stay shared."""
        for name in _SHARED:
            value = self.__dict__.get(name)
            memo[id(value)] = value
        copied: HeadroomAgnoModel = super().__deepcopy__(memo)  # type: ignore[no-untyped-call]
        return copied

    # -- convert in, call the core, convert out -----------------------------------------

    def _headroom_compress(
        self, messages: Sequence[Message], use_compressed_content: bool
    ) -> tuple[list[Message], CompressionResult | None]:
        """The messages to send; the originals (and None) if anything goes wrong."""
        config = self.headroom_config
        if not self._headroom_offers and config.markers_name_tool:
            config = _without_tool_call(config)
        try:
            sent = to_core(messages, use_compressed_content=use_compressed_content)
            result = compress(
                sent,
                model=self.id,
                model_limit=self.headroom_model_limit,
                config=config,
                hooks=self.headroom_hooks,
                store=self.headroom_store,
                token_counter=self.headroom_token_counter,
            )
            out = from_core(
                messages, sent, result.messages, use_compressed_content=use_compressed_content
            )
        except Exception:
            if not config.fail_open:
                raise
            logger.warning("headroom: agno request sent uncompressed after an error", exc_info=True)
            return list(messages), None
        return out, result

    def _headroom_prepare(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """`invoke*` arguments with the messages compressed (and the tool offered or not)."""
        positional = "messages" not in kwargs
        messages = args[0] if positional else kwargs["messages"]
        sent, result = self._headroom_compress(
            messages, bool(kwargs.get("compress_tool_results", False))
        )
        if result is not None:
            count_request(self.headroom_totals, result, kwargs.get("run_response"))
            self.headroom_last_result = result
        if positional:
            args = (sent, *args[1:])
        else:
            kwargs = {**kwargs, "messages": sent}
        if "tools" in kwargs:
            kwargs["tools"] = offer_retrieve(
                kwargs["tools"],
                sent,
                result,
                auto=self.headroom_retrieve_tool == "auto",
                exhausted=retrieve_rounds(messages) >= self.headroom_max_retrieve_rounds,
            )
        return args, kwargs

    def compress_messages(
        self, messages: Sequence[Message], *, use_compressed_content: bool = False
    ) -> list[Message]:
        """The messages this model would send for `messages` (originals untouched)."""
        return self._headroom_compress(messages, use_compressed_content)[0]

    # -- the four calls agno's loop makes once per model turn ---------------------------
    # `super()` is the provider's own implementation (abstract only on `Model`). The async
    # ones compress in a worker thread: milliseconds of CPU on a large output.

    def invoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        args, kwargs = self._headroom_prepare(args, kwargs)
        response: ModelResponse = super().invoke(*args, **kwargs)  # type: ignore[safe-super]
        return response

    async def ainvoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        args, kwargs = await asyncio.to_thread(self._headroom_prepare, args, kwargs)
        response: ModelResponse = await super().ainvoke(*args, **kwargs)  # type: ignore[safe-super]
        return response

    def invoke_stream(self, *args: Any, **kwargs: Any) -> Iterator[ModelResponse]:
        args, kwargs = self._headroom_prepare(args, kwargs)
        yield from super().invoke_stream(*args, **kwargs)  # type: ignore[safe-super]

    async def ainvoke_stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ModelResponse]:  # type: ignore[override]
        args, kwargs = await asyncio.to_thread(self._headroom_prepare, args, kwargs)
        async for delta in super().ainvoke_stream(*args, **kwargs):  # type: ignore[safe-super]
            yield delta

    # -- token counting: offline, on what would actually be sent -------------------------

    def count_tokens(
        self,
        messages: list[Message],
        tools: Sequence[Function | dict[str, Any]] | None = None,
        output_schema: dict[str, Any] | type[BaseModel] | None = None,
    ) -> int:
        """Input tokens of the compressed request, counted offline (never the provider's API).

        Claude and Gemini count over the network; agno calls `count_tokens` from
        compression and compaction checks, so this counts locally with the model's
        tokenizer (o200k with a margin where it is not public).
        """
        count = self.headroom_token_counter or counter_for_model(self.id)
        sent, result = self._headroom_compress(messages, use_compressed_content=True)
        total = result.tokens_after if result is not None else message_tokens(sent, count)
        return total + extra_tokens(sent, tools, output_schema, count)

    async def acount_tokens(
        self,
        messages: list[Message],
        tools: Sequence[Function | dict[str, Any]] | None = None,
        output_schema: dict[str, Any] | type[BaseModel] | None = None,
    ) -> int:
        return await asyncio.to_thread(self.count_tokens, messages, tools, output_schema)
