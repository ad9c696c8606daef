"""A LangChain agent whose model sees compressed tool output: HeadroomChatModel.

    python examples/langchain_agent.py                    # offline: a stand-in model
    OPENAI_API_KEY=... python examples/langchain_agent.py # real gpt-4o-mini
                                                          # (pip install langchain-openai)

The agent reads a large sshd log with a tool. HeadroomChatModel compresses the
tool output before every model call (the agent's state keeps the original),
offers the model `headroom_retrieve` for anything it elided and answers that
itself, and reports what it saved on each reply.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, tool
from langchain_core.utils.function_calling import convert_to_openai_tool

from headroom.integrations.langchain import HeadroomChatModel

DATA = Path(__file__).resolve().parents[1] / "headroom" / "demo_data" / "p-logs-openssh.json"
CASE = json.loads(DATA.read_text(encoding="utf-8"))
LOG = str(CASE["messages"][-1]["content"])


@tool
def read_logs(source: str, offset: int = 0, limit: int = 500) -> str:
    """Read lines from a log file on the host."""
    return LOG


class StandInModel(BaseChatModel):
    """Plays the model offline: asks for the log, then reports what it was sent."""

    model: str = "gpt-4o-mini"

    @property
    def _llm_type(self) -> str:
        return "stand-in"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            reply = AIMessage(
                content=f"I received the log as {len(str(last.content)):,} characters "
                f"(the tool returned {len(LOG):,}); the error lines are in it."
            )
        else:
            args = {"source": "openssh/auth.log", "offset": 501, "limit": 550}
            reply = AIMessage(
                content="", tool_calls=[{"name": "read_logs", "args": args, "id": "call_1"}]
            )
        return ChatResult(generations=[ChatGeneration(message=reply)])


def make_model() -> BaseChatModel:
    if os.environ.get("OPENAI_API_KEY"):
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as exc:
            raise SystemExit("OPENAI_API_KEY is set: pip install langchain-openai") from exc
        return ChatOpenAI(model="gpt-4o-mini")  # type: ignore[no-any-return]
    return StandInModel()


def main() -> None:
    llm = HeadroomChatModel(make_model())
    agent = create_agent(llm, tools=[read_logs], system_prompt="You are a careful SRE.")
    state = agent.invoke({"messages": [HumanMessage(CASE["question"])]})
    answer = state["messages"][-1]
    print("answer:", answer.content)
    stats = answer.response_metadata["headroom"]
    print(
        f"last call: {stats['tokens_before']:,} -> {stats['tokens_after']:,} input tokens "
        f"({stats['compression_ratio']:.0%} saved), transforms {stats['transforms_applied']}"
    )
    print(f"whole run: {llm.total_tokens_saved:,} input tokens saved over {llm.total_calls} calls")
    kept = max(
        (m for m in state["messages"] if isinstance(m, ToolMessage)),
        key=lambda m: len(str(m.content)),
    )
    print(
        f"the agent's state still holds the full tool output: {len(str(kept.content)):,} characters"
    )


if __name__ == "__main__":
    main()
