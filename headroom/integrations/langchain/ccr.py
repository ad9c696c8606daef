"""Answering the model's `headroom_retrieve` calls inside LangChain.

When compression stubs content, the model can ask for the original with the
`headroom_retrieve` tool. The chat model wrapper answers those calls from the
CCR store itself and calls the model again, so the caller's agent never sees
a tool it did not define; the middleware instead registers a real tool.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from headroom import RETRIEVE_TOOL_NAME, CCRStore, handle_retrieve_call, retrieve_tool_openai

__all__ = ["RETRIEVE_TOOL_NAME", "retrieve_tool"]


class _RetrieveArgs(BaseModel):
    hash: str = Field(description="The hash from the marker.")
    query: str | None = Field(
        default=None, description="Optional: words to look for; only matching parts are returned."
    )


def retrieve_tool(store: CCRStore | None = None) -> BaseTool:
    """`headroom_retrieve` as a LangChain tool that reads from `store` (default store if None)."""

    def _run(hash: str, query: str | None = None) -> str:
        args: dict[str, Any] = {"hash": hash}
        if query:
            args["query"] = query
        return handle_retrieve_call(args, store=store)

    definition = retrieve_tool_openai()["function"]
    return StructuredTool.from_function(
        func=_run,
        name=RETRIEVE_TOOL_NAME,
        description=definition["description"],
        args_schema=_RetrieveArgs,
    )
