"""`headroom_retrieve` as a LangChain tool, for agents that run tools themselves.

When compression stubs content, the model can ask for the original with the
`headroom_retrieve` tool. The chat model wrapper answers those calls itself
(the caller's agent never sees a tool it did not define); the middleware
instead registers this tool, so the agent's own tool node answers them.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from headroom import RETRIEVE_TOOL_NAME, CCRStore, handle_retrieve_call, retrieve_tool_openai

__all__ = ["RETRIEVE_TOOL_NAME", "retrieve_tool"]


def retrieve_tool(store: CCRStore | None = None) -> BaseTool:
    """`headroom_retrieve` as a LangChain tool that reads from `store` (default store if None)."""

    def _run(**arguments: Any) -> str:
        return handle_retrieve_call(arguments, store=store)

    definition = retrieve_tool_openai()["function"]  # one schema, the core's
    return StructuredTool.from_function(
        func=_run,
        name=RETRIEVE_TOOL_NAME,
        description=definition["description"],
        args_schema=definition["parameters"],
    )
