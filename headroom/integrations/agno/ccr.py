"""`headroom_retrieve` in agno's tool loop: the tool, when to offer it, and its free calls.

The tool is an agno `Function` handed to agno's own loop, so the model's call
runs, is logged and is stored like any other tool call (agno is the retrieve
loop here; the core's driver serves integrations that have none). Retrievals
do not count against the agent's `tool_call_limit`: they only undo Headroom's
own compression. `RetrieveInLoop` holds the `Model` overrides that do this.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agno.models.base import Model
from agno.models.message import Message
from agno.models.response import ModelResponse
from agno.tools.function import Function

from headroom.core import (
    CCRStore,
    CompressConfig,
    CompressionResult,
    handle_retrieve_call,
    retrieve_tool_openai,
)
from headroom.core.ccr import is_retrieve_name
from headroom.core.markers import has_markers
from headroom.core.options import RetrieveTool
from headroom.integrations.agno.converters import to_core

__all__ = ["RetrieveInLoop", "offer_retrieve", "retrieve_function", "retrieve_rounds"]

_SPEC = retrieve_tool_openai()["function"]


def retrieve_function(store: Any = None) -> Function:
    """A `Function` that returns the original stored under a marker's hash.

    Args:
        store: Where the originals are (a `CCRStore`); the process default store when None.
    """

    def headroom_retrieve(hash: str, query: str | None = None) -> str:
        return handle_retrieve_call({"hash": hash, "query": query or ""}, store=store)

    return Function(
        name=_SPEC["name"],
        description=_SPEC["description"],
        parameters=_SPEC["parameters"],
        entrypoint=headroom_retrieve,
        skip_entrypoint_processing=True,
    )


def _tool_name(tool: Any) -> str:
    """The name of a tool as agno passes it: a `Function`, or a dict in either API shape."""
    if isinstance(tool, Mapping):
        fn = tool.get("function")
        return str((fn if isinstance(fn, Mapping) else tool).get("name", ""))
    return str(getattr(tool, "name", ""))


def _is_ours(tool: Any) -> bool:
    """A retrieve tool Headroom added (a user's own tool of that name is left alone)."""
    if isinstance(tool, Function):
        description = tool.description
    elif isinstance(tool, Mapping):
        fn = tool.get("function", tool)
        description = fn.get("description") if isinstance(fn, Mapping) else None
    else:
        return False
    return is_retrieve_name(_tool_name(tool)) and description == _SPEC["description"]


def retrieve_rounds(messages: Sequence[Message]) -> int:
    """Model turns since the last user turn that called `headroom_retrieve` (this run's rounds)."""
    rounds = 0
    for message in reversed(messages):
        if message.role == "user":
            break
        names = [(call.get("function") or {}).get("name") for call in message.tool_calls or []]
        if message.role == "assistant" and any(map(is_retrieve_name, names)):
            rounds += 1
    return rounds


def offer_retrieve(
    tools: Any,
    messages: Sequence[Message],
    result: CompressionResult | None,
    *,
    auto: bool,
    exhausted: bool,
) -> Any:
    """`tools` without Headroom's retrieve tool once the run has used its rounds, or, in
    ``"auto"`` mode, on a request with nothing to retrieve."""
    if not tools:
        return tools
    if not exhausted:
        if not auto:
            return tools
        if result is not None and (result.ccr_hashes or has_markers(result.messages)):
            return tools
        if result is None and has_markers(to_core(messages)):
            return tools
    return [t for t in tools if not _is_ours(t)]


def _with_tool(
    args: tuple[Any, ...], kwargs: dict[str, Any], fn: Function
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """`response*` arguments with `fn` among the tools (unless a retrieve tool is there)."""
    if len(args) > 2:  # tools passed positionally: messages, response_format, tools
        tools, args = args[2], (*args[:2], *args[3:])
    else:
        tools = kwargs.get("tools")
    tools = list(tools or [])
    if not any(is_retrieve_name(_tool_name(t)) for t in tools):
        tools.append(fn)
    return args, {**kwargs, "tools": tools}


def _is_free(call: Any) -> bool:
    return is_retrieve_name(call.function.name)


def _limit_batches(
    calls: list[Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Iterator[tuple[list[Any], tuple[Any, ...], dict[str, Any]]]:
    """Split one `run_function_calls` batch so retrievals run outside `tool_call_limit`.

    Consecutive calls are grouped in their order; retrieve groups run with no limit,
    the others with the running count agno would have reached without them.
    """
    limit = kwargs.get("function_call_limit")
    if args or limit is None or not any(map(_is_free, calls)):
        yield calls, args, kwargs
        return
    count = int(kwargs.get("current_function_call_count") or 0)
    groups = [(free, list(group)) for free, group in itertools.groupby(calls, key=_is_free)]
    for i, (free, group) in enumerate(groups):
        # agno appends `additional_input` at the end of a batch: only the last group gets it.
        kw = {**kwargs, "additional_input": kwargs.get("additional_input")}
        if i < len(groups) - 1:
            kw["additional_input"] = None
        if free:
            kw["function_call_limit"] = None
        else:
            kw["current_function_call_count"] = count
            count += len(group)
        yield group, (), kw


# For type checkers the mixin is a Model; at run time the provider class supplies that.
if TYPE_CHECKING:
    _Base = Model
else:
    _Base = object


class RetrieveInLoop(_Base):
    """The wrapper's `response*` and tool-running overrides (`super()` is the provider's)."""

    headroom_config: CompressConfig
    headroom_store: CCRStore | None
    headroom_retrieve_tool: RetrieveTool
    headroom_max_retrieve_rounds: int

    @property
    def _headroom_offers(self) -> bool:
        """Whether the model may be offered `headroom_retrieve` at all."""
        return self.headroom_retrieve_tool != "never" and self.headroom_max_retrieve_rounds > 0

    def _headroom_with_retrieve(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        config = self.headroom_config
        if not (self._headroom_offers and config.ccr and config.lossy):
            return args, kwargs
        cached = self.__dict__.get("_headroom_retrieve_fn")
        if cached is None or cached[0] is not self.headroom_store:
            cached = (self.headroom_store, retrieve_function(self.headroom_store))
            self.__dict__["_headroom_retrieve_fn"] = cached
        return _with_tool(args, kwargs, cached[1])

    def response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        args, kwargs = self._headroom_with_retrieve(args, kwargs)
        response: ModelResponse = super().response(*args, **kwargs)
        return response

    async def aresponse(self, *args: Any, **kwargs: Any) -> ModelResponse:
        args, kwargs = self._headroom_with_retrieve(args, kwargs)
        response: ModelResponse = await super().aresponse(*args, **kwargs)
        return response

    def response_stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        args, kwargs = self._headroom_with_retrieve(args, kwargs)
        stream: Iterator[Any] = super().response_stream(*args, **kwargs)
        return stream

    def aresponse_stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        args, kwargs = self._headroom_with_retrieve(args, kwargs)
        stream: AsyncIterator[Any] = super().aresponse_stream(*args, **kwargs)
        return stream

    def run_function_calls(self, function_calls: list[Any], *args: Any, **kwargs: Any) -> Any:
        for batch, rest, kw in _limit_batches(function_calls, args, kwargs):
            yield from super().run_function_calls(batch, *rest, **kw)

    async def arun_function_calls(  # type: ignore[override]
        self, function_calls: list[Any], *args: Any, **kwargs: Any
    ) -> Any:
        for batch, rest, kw in _limit_batches(function_calls, args, kwargs):
            async for event in super().arun_function_calls(batch, *rest, **kw):
                yield event

    @staticmethod
    def _limit_charge_for(function_call_results: list[Message], result_store: Any) -> int:
        charged: int = Model._limit_charge_for(function_call_results, result_store)
        return charged - sum(1 for m in function_call_results if is_retrieve_name(m.tool_name))
