"""Compress a tool's output where it is produced.

`compress_tool(tool)` returns a tool with the same name, description and
argument schema whose string output is compressed before it ever enters the
conversation (and so the graph state and checkpoints). The tool's call
arguments are the relevance context; originals of lossy steps go to the CCR
store. Artifacts and error statuses are passed through.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, ToolException
from pydantic import ConfigDict

from headroom import CCRStore, CompressConfig
from headroom.core.output import compress_output

__all__ = ["HeadroomTool", "compress_tool"]

#: The key that carries the tool-call id from `_to_args_and_kwargs` to `_run`.
_CALL_ID = "__headroom_tool_call_id"


class HeadroomTool(BaseTool):
    """A tool that runs `inner` and compresses what it returns."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseTool
    model: str = "gpt-4o"
    config: CompressConfig | None = None
    store: CCRStore | None = None

    def _to_args_and_kwargs(
        self, tool_input: str | dict[str, Any], tool_call_id: str | None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        # Carry the caller's tool-call id to `_run`, so the inner tool gets the real one
        # (InjectedToolCallId, a Command whose ToolMessage must answer this very call).
        args, kwargs = super()._to_args_and_kwargs(tool_input, tool_call_id)
        return args, {**kwargs, _CALL_ID: tool_call_id}

    def _call(self, args: tuple[Any, ...], kwargs: dict[str, Any], call_id: str | None) -> Any:
        if args or call_id is None:  # a single string input, or a plain (non tool-call) run
            return args[0] if args else kwargs
        return {"type": "tool_call", "name": self.inner.name, "args": kwargs, "id": call_id}

    def _finish(self, output: Any, arguments: Any) -> Any:
        if isinstance(output, ToolMessage):
            if output.status == "error":
                raise ToolException(str(output.content))
            content = self._shrink(output.content, arguments)
            return (
                (content, output.artifact)
                if self.response_format == "content_and_artifact"
                else content
            )
        return self._shrink(output, arguments)

    def _shrink(self, content: Any, arguments: Any) -> Any:
        if not isinstance(content, str):
            return content
        return compress_output(
            content,
            tool_name=self.inner.name,
            arguments=arguments,
            model=self.model,
            config=self.config,
            store=self.store,
        ).text

    def _run(
        self, *args: Any, run_manager: CallbackManagerForToolRun | None = None, **kwargs: Any
    ) -> Any:
        call_id = kwargs.pop(_CALL_ID, None)
        callbacks = run_manager.get_child() if run_manager else None
        output = self.inner.invoke(
            self._call(args, kwargs, call_id), config={"callbacks": callbacks}
        )
        return self._finish(output, args[0] if args else kwargs)

    async def _arun(
        self, *args: Any, run_manager: AsyncCallbackManagerForToolRun | None = None, **kwargs: Any
    ) -> Any:
        call_id = kwargs.pop(_CALL_ID, None)
        callbacks = run_manager.get_child() if run_manager else None
        request = self._call(args, kwargs, call_id)
        output = await self.inner.ainvoke(request, config={"callbacks": callbacks})
        return await asyncio.to_thread(self._finish, output, args[0] if args else kwargs)


def compress_tool(
    tool: BaseTool,
    *,
    model: str = "gpt-4o",
    config: CompressConfig | None = None,
    store: CCRStore | None = None,
) -> HeadroomTool:
    """`tool`, with its output compressed at the source (same name, description and schema)."""
    return HeadroomTool(
        inner=tool,
        name=tool.name,
        description=tool.description,
        args_schema=tool.args_schema,
        return_direct=tool.return_direct,
        response_format=tool.response_format,
        handle_tool_error=tool.handle_tool_error,
        handle_validation_error=tool.handle_validation_error,
        model=model,
        config=config,
        store=store,
    )
