"""`headroom_retrieve` in agno's tool loop: the tool, when to offer it, and its free calls.

The tool is an agno `Function` handed to agno's own loop, so the model's call
runs, is logged and is stored like any other tool call (agno is the retrieve
loop here; the core's driver serves integrations that have none). Retrievals
do not count against the agent's `tool_call_limit`: they only undo Headroom's
own compression.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from agno.tools.function import Function

from headroom.core import CompressionResult, handle_retrieve_call, retrieve_tool_openai
from headroom.core.ccr import is_retrieve_name
from headroom.core.markers import has_markers
from headroom.integrations.agno.converters import to_core

__all__ = ["limit_batches", "offer_retrieve", "retrieve_function", "tool_name", "with_tool"]

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


def tool_name(tool: Any) -> str:
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
    return is_retrieve_name(tool_name(tool)) and description == _SPEC["description"]


def with_tool(
    args: tuple[Any, ...], kwargs: dict[str, Any], fn: Function
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """`response*` arguments with `fn` among the tools (unless a retrieve tool is there)."""
    if len(args) > 2:  # tools passed positionally: messages, response_format, tools
        tools, args = args[2], (*args[:2], *args[3:])
    else:
        tools = kwargs.get("tools")
    tools = list(tools or [])
    if not any(is_retrieve_name(tool_name(t)) for t in tools):
        tools.append(fn)
    return args, {**kwargs, "tools": tools}


def offer_retrieve(tools: Any, messages: Sequence[Any], result: CompressionResult | None) -> Any:
    """Drop Headroom's retrieve tool from a request with nothing to retrieve (``"auto"`` mode)."""
    if not tools:
        return tools
    if result is not None and (result.ccr_hashes or has_markers(result.messages)):
        return tools
    if result is None and has_markers(to_core(messages)):
        return tools
    return [t for t in tools if not _is_ours(t)]


def _is_free(call: Any) -> bool:
    return is_retrieve_name(call.function.name)


def limit_batches(
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
