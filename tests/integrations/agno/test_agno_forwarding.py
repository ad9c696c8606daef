"""Every provider hook agno's loop calls on `self` reaches the wrapped provider's override."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from agno.agent import Agent
from agno.media import Image
from agno.models.message import Message
from agno.models.response import ModelResponse
from agno.tools.function import Function
from agno_kit import ScriptedModel, make_tool, tool_call, tool_output

from headroom.core import InMemoryStore
from headroom.core.tokens import count_message_tokens, counter_for_model
from headroom.integrations.agno import HeadroomAgnoModel, to_core


class NetworkCalled(AssertionError):
    pass


@dataclass
class TaggedModel(ScriptedModel):
    """Overrides each hook the way real providers do, leaving a visible trace."""

    def _parse_provider_response(self, response: Any, **kwargs: Any) -> ModelResponse:
        parsed = super()._parse_provider_response(response, **kwargs)
        parsed.provider_data = {"parsed_by": "tagged", **kwargs}
        return parsed

    def _parse_provider_response_delta(self, response: Any) -> ModelResponse:
        parsed = super()._parse_provider_response_delta(response)
        parsed.provider_data = {"delta_parsed_by": "tagged"}
        return parsed

    def format_function_call_results(
        self,
        messages: list[Message],
        function_call_results: list[Message],
        compress_tool_results: bool = False,
        **kwargs: Any,
    ) -> None:
        for result in function_call_results:
            messages.append(result.model_copy(update={"provider_data": {"formatted_by": "tagged"}}))

    def _format_tools(self, tools: Any) -> list[dict[str, Any]]:
        formatted = super()._format_tools(tools)
        for tool in formatted:
            tool["function"]["description"] = "[tagged] " + str(tool["function"].get("description"))
        return formatted

    def get_system_message_for_model(self, tools: list[Any] | None = None) -> str | None:
        return "SYSTEM NOTE FROM THE PROVIDER"

    def get_instructions_for_model(self, tools: list[Any] | None = None) -> list[str] | None:
        return ["INSTRUCTION FROM THE PROVIDER"]

    def get_provider(self) -> str:
        return "Tagged Provider"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "provider": "Tagged", "extra": "from-provider"}

    def count_tokens(self, *args: Any, **kwargs: Any) -> int:
        raise NetworkCalled("the provider's network counter must not be used")

    async def acount_tokens(self, *args: Any, **kwargs: Any) -> int:
        raise NetworkCalled("the provider's network counter must not be used")


def _run_with_tool(
    case: dict[str, Any], store: InMemoryStore, stream: bool = False
) -> tuple[TaggedModel, Any]:
    fake = TaggedModel(script=[{"tool_calls": [tool_call("read_logs", {"target": "auth.log"})]}])
    agent = Agent(
        model=HeadroomAgnoModel(fake, store=store),
        tools=[make_tool("read_logs", tool_output(case))],
    )
    result = (
        list(agent.run(case["question"], stream=True)) if stream else agent.run(case["question"])
    )
    return fake, result


def test_parse_provider_response(store: InMemoryStore) -> None:
    model = HeadroomAgnoModel(TaggedModel(), store=store)
    parsed = model._parse_provider_response({"content": "x"}, response_format=None)
    assert parsed.provider_data == {"parsed_by": "tagged", "response_format": None}


def test_parse_provider_response_delta(store: InMemoryStore) -> None:
    model = HeadroomAgnoModel(TaggedModel(), store=store)
    assert model._parse_provider_response_delta({"content": "x"}).provider_data == {
        "delta_parsed_by": "tagged"
    }


def test_parse_tool_calls_merges_stream_deltas(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    model = HeadroomAgnoModel(TaggedModel(), store=store)
    deltas = [
        {
            "index": 0,
            "id": "c1",
            "type": "function",
            "function": {"name": "read_logs", "arguments": '{"tar'},
        },
        {"index": 0, "function": {"arguments": 'get": "a"}'}},
    ]
    assert model.parse_tool_calls(deltas) == [
        {
            "id": "c1",
            "type": "function",
            "function": {"name": "read_logs", "arguments": '{"target": "a"}'},
        }
    ]
    # And inside a streamed run the merged call is the one executed.
    fake, _ = _run_with_tool(logs_case, store, stream=True)
    assistant = next(m for m in fake.calls[1]["messages"] if m.tool_calls)
    assert assistant.tool_calls[0]["function"]["arguments"] == '{"target": "auth.log"}'


def test_format_function_call_results(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    fake, _ = _run_with_tool(logs_case, store)
    tool_msgs = [m for m in fake.calls[1]["messages"] if m.role == "tool"]
    assert tool_msgs and all(m.provider_data == {"formatted_by": "tagged"} for m in tool_msgs)


def test_format_tools(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    fake, _ = _run_with_tool(logs_case, store)
    descriptions = [t["function"]["description"] for t in fake.calls[0]["tools"]]
    assert descriptions and all(d.startswith("[tagged] ") for d in descriptions)


def test_get_system_message_for_model(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    fake, _ = _run_with_tool(logs_case, store)
    system = next(m for m in fake.calls[0]["messages"] if m.role == "system")
    assert "SYSTEM NOTE FROM THE PROVIDER" in str(system.content)


def test_get_instructions_for_model(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    fake, _ = _run_with_tool(logs_case, store)
    system = next(m for m in fake.calls[0]["messages"] if m.role == "system")
    assert "INSTRUCTION FROM THE PROVIDER" in str(system.content)


def test_get_provider(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    model = HeadroomAgnoModel(TaggedModel(), store=store)
    assert model.get_provider() == "Tagged Provider"


def test_to_dict() -> None:
    model = HeadroomAgnoModel(TaggedModel(id="gpt-4o-mini"))
    assert model.to_dict() == {"id": "gpt-4o-mini", "provider": "Tagged", "extra": "from-provider"}
    # A stored agent config records the provider model, so it reloads without Headroom.
    assert Agent(model=model).to_dict()["model"] == model.to_dict()


def _big_messages(case: dict[str, Any]) -> list[Message]:
    return [
        Message(role="user", content=case["question"]),
        Message(
            role="assistant",
            tool_calls=[
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "read_logs", "arguments": "{}"},
                }
            ],
        ),
        Message(role="tool", tool_call_id="c1", content=tool_output(case)),
    ]


def test_count_tokens_is_offline_and_counts_what_is_sent(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    model = HeadroomAgnoModel(TaggedModel(id="claude-sonnet-4-20250514"), store=store)
    messages = _big_messages(logs_case)
    count = counter_for_model("claude-sonnet-4-20250514")
    uncompressed = sum(count_message_tokens(m, count) for m in to_core(messages))

    tokens = model.count_tokens(messages)

    assert 0 < tokens < uncompressed / 2
    tools = [
        Function(
            name="read_logs",
            description="Read logs.",
            parameters={"type": "object", "properties": {}},
        )
    ]
    assert model.count_tokens(messages, tools) > tokens
    # Media attached to a message is counted too.
    image = Image(content=b"\x89PNG\r\n\x1a\n", format="png")
    assert (
        model.count_tokens([*messages, Message(role="user", content="see", images=[image])])
        > tokens
    )


async def test_acount_tokens_is_offline(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    model = HeadroomAgnoModel(TaggedModel(), store=store)
    messages = _big_messages(logs_case)
    assert await model.acount_tokens(messages) == model.count_tokens(messages)


def test_the_provider_counter_really_raises() -> None:
    """Guard for the two tests above: the override they avoid is the network one."""
    with pytest.raises(NetworkCalled):
        TaggedModel().count_tokens([])


#: Generated by @dataclass on every provider, or run by the provider itself when it is built.
_NOT_HOOKS = {"__init__", "__repr__", "__eq__", "__post_init__", "__hash__"}


def _provider_overrides() -> dict[str, set[str]]:
    """Model methods each agno provider class overrides, read from source (no SDK imports)."""
    import ast
    from pathlib import Path

    import agno.models
    from agno.models.base import Model

    base = {
        n
        for n, v in vars(Model).items()
        if callable(v) or isinstance(v, (staticmethod, classmethod))
    }
    found: dict[str, set[str]] = {}
    for path in sorted(Path(agno.models.__file__).parent.glob("*/*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                methods = {
                    f.name
                    for f in node.body
                    if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                }
                if methods & base - _NOT_HOOKS:
                    found[f"{path.parent.name}/{path.stem}.{node.name}"] = (
                        methods & base - _NOT_HOOKS
                    )
    return found


#: What Headroom changes; every other method is the provider's own, inherited.
_OWNED = {
    "invoke", "ainvoke", "invoke_stream", "ainvoke_stream",
    "response", "aresponse", "response_stream", "aresponse_stream",
    "run_function_calls", "arun_function_calls", "_limit_charge_for",
    "count_tokens", "acount_tokens", "__deepcopy__",
}  # fmt: skip


def test_every_hook_a_provider_overrides_is_the_providers_own() -> None:
    """The wrapper class inherits every provider override it does not own (no forwarding list)."""
    import importlib

    from agno.models.base import Model

    from headroom.integrations.agno.wrapping import subclass_for

    base = {n for n, v in vars(Model).items() if callable(v) or isinstance(v, staticmethod)}
    # the wrapper's own classes (HeadroomAgnoModel and its mixins) define exactly _OWNED
    assert {n for c in HeadroomAgnoModel.__mro__[:-1] for n in vars(c)} & base == _OWNED
    overrides = _provider_overrides()
    assert len(overrides) > 15  # OpenAI, Claude, Gemini, LiteLLM, Bedrock, Groq, Mistral, ...
    checked = 0
    for qualified, methods in overrides.items():
        path, name = qualified.split(".")
        try:
            provider = getattr(
                importlib.import_module(f"agno.models.{path.replace('/', '.')}"), name
            )
        except ImportError:  # the provider's SDK is not installed
            continue
        wrapper = subclass_for(HeadroomAgnoModel, provider)
        assert wrapper.__name__ == provider.__name__
        for method in methods - _OWNED:
            assert getattr(wrapper, method) is getattr(provider, method), (qualified, method)
        checked += 1
    assert checked >= 2  # at least OpenAIChat and Claude are installed here
