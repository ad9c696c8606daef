"""HeadroomAgnoModel inside a real agno Agent: run, arun, streaming, tools, media, schemas."""

from __future__ import annotations

import copy
import logging
import threading
from typing import Any

import pytest
from agno.agent import Agent
from agno.db.in_memory import InMemoryDb
from agno.media import Image
from agno.metrics import ModelType
from agno.models.message import Message
from agno_kit import (
    ScriptedModel,
    has_needle,
    make_tool,
    order_records,
    tool_call,
    tool_output,
)
from pydantic import BaseModel

from headroom.core import CompressConfig, InMemoryStore
from headroom.exceptions import ConfigurationError
from headroom.integrations.agno import HeadroomAgnoModel
from headroom.integrations.agno import model as model_module

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _agent_with_logs(
    case: dict[str, Any], store: InMemoryStore, **agent_kwargs: Any
) -> tuple[Agent, HeadroomAgnoModel, ScriptedModel, Any]:
    tool = make_tool(case["tools"][0], tool_output(case), "Read a log file.")
    fake = ScriptedModel(
        script=[{"tool_calls": [tool_call(tool.__name__, {"target": "/var/log/auth.log"})]}]
    )
    model = HeadroomAgnoModel(fake, store=store)
    agent = Agent(model=model, tools=[tool], **agent_kwargs)
    return agent, model, fake, tool


def _assert_compressed_turn(case: dict[str, Any], fake: ScriptedModel, original: str) -> None:
    """The second model turn got the tool output compressed, with every needle kept."""
    assert len(fake.calls) == 2
    tool_msgs = [m for m in fake.calls[1]["messages"] if m.role == "tool"]
    assert len(tool_msgs) == 1
    sent = tool_msgs[0].content
    assert isinstance(sent, str)
    assert len(sent) < len(original) / 2
    for needle in case["needles"]:
        assert has_needle(needle, sent), needle


def _assert_original_kept(messages: list[Message], original: str) -> None:
    tool_msgs = [m for m in messages if m.role == "tool"]
    assert tool_msgs, "no tool message stored"
    assert all(m.content == original for m in tool_msgs)


def test_run_compresses_what_the_provider_receives(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    agent, model, fake, tool = _agent_with_logs(logs_case, store, db=InMemoryDb(), session_id="s1")
    original = tool_output(logs_case)

    result = agent.run(logs_case["question"])

    assert result.content == "done"
    assert tool.calls == ["/var/log/auth.log"]
    _assert_compressed_turn(logs_case, fake, original)
    # The run and the stored session keep the original tool output.
    _assert_original_kept(result.messages or [], original)
    _assert_original_kept(agent.get_session_messages(session_id="s1"), original)
    # Savings: on the model and on this run's metrics, and they agree.
    assert model.total_tokens_saved > 10_000
    extra = result.metrics.additional_metrics if result.metrics else None
    assert extra is not None
    assert extra["headroom_tokens_saved"] == model.total_tokens_saved
    assert extra["headroom_requests"] == 2
    assert (
        extra["headroom_tokens_before"] - extra["headroom_tokens_after"]
        == extra["headroom_tokens_saved"]
    )


async def test_arun_compresses_what_the_provider_receives(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    agent, model, fake, _ = _agent_with_logs(logs_case, store)
    original = tool_output(logs_case)

    result = await agent.arun(logs_case["question"])

    assert result.content == "done"
    assert [c["method"] for c in fake.calls] == ["ainvoke", "ainvoke"]
    _assert_compressed_turn(logs_case, fake, original)
    _assert_original_kept(result.messages or [], original)
    assert model.total_tokens_saved > 10_000


def test_run_stream_merges_streamed_tool_calls(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    agent, model, fake, tool = _agent_with_logs(logs_case, store)
    fake.script.append({"content": "The errors come from 103.99.0.122."})
    original = tool_output(logs_case)

    events = list(agent.run(logs_case["question"], stream=True))

    # The tool ran with the full arguments: the provider's parse_tool_calls merged the deltas.
    assert tool.calls == ["/var/log/auth.log"]
    assert [c["method"] for c in fake.calls] == ["invoke_stream", "invoke_stream"]
    _assert_compressed_turn(logs_case, fake, original)
    streamed = "".join(
        e.content
        for e in events
        if getattr(e, "event", "") == "RunContent" and isinstance(e.content, str)
    )
    assert streamed == "The errors come from 103.99.0.122."
    assert model.total_tokens_saved > 10_000


async def test_arun_stream_merges_streamed_tool_calls(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    agent, _, fake, tool = _agent_with_logs(logs_case, store, db=InMemoryDb(), session_id="s2")
    original = tool_output(logs_case)

    events = [e async for e in agent.arun(logs_case["question"], stream=True)]

    assert events
    assert tool.calls == ["/var/log/auth.log"]
    assert [c["method"] for c in fake.calls] == ["ainvoke_stream", "ainvoke_stream"]
    _assert_compressed_turn(logs_case, fake, original)
    _assert_original_kept(agent.get_session_messages(session_id="s2"), original)


def test_parallel_streamed_tool_calls(
    logs_case: dict[str, Any], json_case: dict[str, Any], store: InMemoryStore
) -> None:
    logs = make_tool("read_logs", tool_output(logs_case))
    comments = make_tool("api_get", tool_output(json_case))
    fake = ScriptedModel(
        script=[
            {
                "tool_calls": [
                    tool_call("read_logs", {"target": "auth.log"}, "call_a"),
                    tool_call("api_get", {"target": "/comments"}, "call_b"),
                ]
            }
        ]
    )
    agent = Agent(model=HeadroomAgnoModel(fake, store=store), tools=[logs, comments])

    list(agent.run("Which sshd errors, and which comment has the asked e-mail?", stream=True))

    assert logs.calls == ["auth.log"] and comments.calls == ["/comments"]
    tool_msgs = {m.tool_call_id: m for m in fake.calls[1]["messages"] if m.role == "tool"}
    assert set(tool_msgs) == {"call_a", "call_b"}
    assert len(str(tool_msgs["call_b"].content)) < len(tool_output(json_case))


def test_images_reach_the_provider_untouched(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    agent, _, fake, _ = _agent_with_logs(logs_case, store)
    image = Image(content=PNG, format="png", id="img-1")

    agent.run(logs_case["question"], images=[image])

    for call in fake.calls:
        users = [m for m in call["messages"] if m.role == "user"]
        assert users[0].images is not None
        assert [i.id for i in users[0].images] == ["img-1"]
        assert users[0].images[0].content == PNG
    _assert_compressed_turn(logs_case, fake, tool_output(logs_case))


class Finding(BaseModel):
    host: str
    count: int


@pytest.mark.parametrize("native", [True, False])
def test_structured_output(native: bool, logs_case: dict[str, Any], store: InMemoryStore) -> None:
    tool = make_tool("read_logs", tool_output(logs_case))
    fake = ScriptedModel(
        supports_native_structured_outputs=native,
        script=[
            {"tool_calls": [tool_call("read_logs", {"target": "auth.log"})]},
            {"content": '{"host": "103.99.0.122", "count": 3}'},
        ],
    )
    model = HeadroomAgnoModel(fake, store=store)
    assert model.supports_native_structured_outputs is native
    agent = Agent(model=model, tools=[tool], output_schema=Finding)

    result = agent.run(logs_case["question"])

    assert result.content == Finding(host="103.99.0.122", count=3)
    expected = Finding if native else {"type": "json_object"}
    assert all(c["response_format"] == expected for c in fake.calls)
    _assert_compressed_turn(logs_case, fake, tool_output(logs_case))


def test_history_replay_keeps_message_fields(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    agent, _, fake, _ = _agent_with_logs(
        logs_case, store, db=InMemoryDb(), session_id="s3", add_history_to_context=True
    )
    agent.run(logs_case["question"])
    fake.calls.clear()
    fake.script.clear()

    agent.run("And which ports did they use?")

    sent = fake.calls[0]["messages"]
    history = [m for m in sent if m.from_history]
    assert [m.role for m in history] == ["user", "assistant", "tool", "assistant"]
    replayed_tool = next(m for m in history if m.role == "tool")
    assert replayed_tool.tool_call_id == "call_1"
    assert len(str(replayed_tool.content)) < len(tool_output(logs_case)) / 2
    assert next(m for m in history if m.tool_calls).tool_calls[0]["function"]["name"] == "read_logs"
    # The session still holds the original output.
    _assert_original_kept(agent.get_session_messages(session_id="s3"), tool_output(logs_case))


def test_callers_list_and_messages_are_not_mutated(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    fake = ScriptedModel()
    model = HeadroomAgnoModel(fake, store=store)
    original = tool_output(logs_case)
    messages = [
        Message(role="user", content=logs_case["question"]),
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
        Message(role="tool", tool_call_id="c1", tool_name="read_logs", content=original),
    ]
    snapshot = [m.model_dump() for m in messages]
    ids = [id(m) for m in messages]

    model.invoke(messages=messages, assistant_message=Message(role="assistant"))

    assert [id(m) for m in messages] == ids
    assert [m.model_dump() for m in messages] == snapshot
    sent = fake.calls[0]["messages"]
    assert sent[2] is not messages[2] and sent[2].id == messages[2].id
    assert len(str(sent[2].content)) < len(original)
    assert sent[0] is messages[0] or sent[0].content.startswith(logs_case["question"])


def test_compressed_content_is_what_gets_compressed(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    """With agno's own compression on, the provider sends `compressed_content`: compress that."""
    fake = ScriptedModel()
    model = HeadroomAgnoModel(fake, store=store)
    original = tool_output(logs_case)
    tool = Message(role="tool", tool_call_id="c1", content="short", compressed_content=original)
    messages = [Message(role="user", content="why?"), tool]

    model.invoke(
        messages=messages, assistant_message=Message(role="assistant"), compress_tool_results=True
    )

    sent = fake.calls[0]["messages"][1]
    assert sent.content == "short"
    assert sent.compressed_content is not None and len(sent.compressed_content) < len(original)
    assert tool.compressed_content == original


def test_small_requests_pass_through_unchanged(store: InMemoryStore) -> None:
    fake = ScriptedModel(script=[{"content": "hi"}])
    model = HeadroomAgnoModel(fake, store=store)
    agent = Agent(model=model)

    assert agent.run("hello").content == "hi"
    user = next(m for m in fake.calls[0]["messages"] if m.role == "user")
    assert user.content == "hello"
    assert model.total_tokens_saved == 0
    # Nothing to retrieve: the retrieve tool is not offered.
    assert not fake.calls[0]["tools"]


def test_fails_open_when_the_core_breaks(
    logs_case: dict[str, Any],
    store: InMemoryStore,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("core exploded")

    monkeypatch.setattr(model_module, "compress", broken)
    agent, model, fake, _ = _agent_with_logs(logs_case, store)

    with caplog.at_level(logging.WARNING, logger="headroom"):
        result = agent.run(logs_case["question"])

    assert result.content == "done"
    tool_msgs = [m for m in fake.calls[1]["messages"] if m.role == "tool"]
    assert tool_msgs[0].content == tool_output(logs_case)
    assert model.total_tokens_saved == 0
    assert "sent uncompressed" in caplog.text


def test_fail_open_off_raises(store: InMemoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("core exploded")

    monkeypatch.setattr(model_module, "compress", broken)
    model = HeadroomAgnoModel(ScriptedModel(), store=store, config=CompressConfig(fail_open=False))
    with pytest.raises(RuntimeError, match="core exploded"):
        model.invoke(
            messages=[Message(role="user", content="x")],
            assistant_message=Message(role="assistant"),
        )


@pytest.mark.parametrize("bad", ["gpt-4o", None, object(), {"id": "gpt-4o"}])
def test_wrapping_something_else_is_a_clear_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="wraps an agno Model"):
        HeadroomAgnoModel(bad)


def test_wrapping_twice_is_refused() -> None:
    with pytest.raises(TypeError, match="already a HeadroomAgnoModel"):
        HeadroomAgnoModel(HeadroomAgnoModel(ScriptedModel()))


def test_retrieve_mode_uses_the_shared_option() -> None:
    with pytest.raises(ConfigurationError, match="retrieve_tool"):
        HeadroomAgnoModel(ScriptedModel(), retrieve_tool="sometimes")  # type: ignore[arg-type]
    # the shared reading of the old booleans (headroom.core.options.retrieve_tool_mode)
    assert HeadroomAgnoModel(ScriptedModel(), retrieve_tool=False).headroom_retrieve_tool == "never"
    assert HeadroomAgnoModel(ScriptedModel(), retrieve_tool=True).headroom_retrieve_tool == "always"


def test_is_the_provider_with_its_settings() -> None:
    fake = ScriptedModel(
        id="claude-sonnet-4-20250514",
        name="Claude",
        provider="Anthropic",
        supports_json_schema_outputs=True,
    )
    model = HeadroomAgnoModel(fake)
    assert (model.id, model.name, model.provider) == (
        "claude-sonnet-4-20250514",
        "Claude",
        "Anthropic",
    )
    assert model.supports_json_schema_outputs is True
    assert model.assistant_message_role == "assistant" and model.tool_message_role == "tool"
    # The Agent sets fields on its model: they land on the model that sends the requests.
    Agent(model=model)
    assert model.model_type == ModelType.MODEL
    model.retries = 2
    assert model.retries == 2 and fake.retries == 0  # the model passed in is only a template
    assert model.script is fake.script
    assert "ScriptedModel" in repr(model) and "HeadroomAgnoModel" in repr(model)
    bare = model.unwrap()
    assert type(bare) is ScriptedModel and bare.retries == 2
    assert not isinstance(bare, HeadroomAgnoModel)


def test_class_checks_see_the_provider() -> None:
    """agno tells native reasoning models apart by class name: the wrapper is a real subclass."""
    openai = pytest.importorskip("agno.models.openai")
    from agno.reasoning.openai import is_openai_reasoning_model

    model = HeadroomAgnoModel(openai.OpenAIChat(id="o3-mini", api_key="test"))
    assert isinstance(model, openai.OpenAIChat) and isinstance(model, HeadroomAgnoModel)
    assert issubclass(type(model), openai.OpenAIChat)
    assert type(model).__name__ == "OpenAIChat" and model.__class__ is type(model)
    assert is_openai_reasoning_model(model)
    # One class per provider class, made once.
    other = HeadroomAgnoModel(openai.OpenAIChat(id="gpt-4o", api_key="test"))
    assert type(other) is type(model)
    shallow = copy.copy(model)
    assert type(shallow) is type(model) and shallow.headroom_totals is model.headroom_totals


def test_copies_share_totals(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    model = HeadroomAgnoModel(ScriptedModel(), store=store)
    Agent(model=model).run("warm up")  # builds the retrieve tool, which holds the store
    clone = copy.deepcopy(model)
    assert type(clone) is type(model)
    assert clone.headroom_store is store and clone.headroom_config is model.headroom_config
    assert clone.calls is not model.calls  # provider state is copied, as agno copies it
    messages = [
        Message(role="user", content="why?"),
        Message(role="tool", tool_call_id="c1", content=tool_output(logs_case)),
    ]
    clone.invoke(messages=messages, assistant_message=Message(role="assistant"))
    assert model.total_tokens_saved == clone.total_tokens_saved > 0


def test_totals_are_thread_safe(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    model = HeadroomAgnoModel(ScriptedModel(), store=store)
    messages = [
        Message(role="user", content="why?"),
        Message(role="tool", tool_call_id="c1", content=tool_output(logs_case)),
    ]
    model.invoke(messages=messages, assistant_message=Message(role="assistant"))
    once = model.total_tokens_saved
    model.reset_stats()

    def work() -> None:
        for _ in range(5):
            model.invoke(messages=messages, assistant_message=Message(role="assistant"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert model.stats["requests"] == 40
    assert model.total_tokens_saved == 40 * once


def test_team_with_wrapped_leader_and_member(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    from agno.team import Team

    member_fake = ScriptedModel(
        script=[
            {"tool_calls": [tool_call("read_logs", {"target": "auth.log"})]},
            {"content": "found it"},
        ]
    )
    member_model = HeadroomAgnoModel(member_fake, store=store)
    member = Agent(
        name="logs",
        id="logs",
        model=member_model,
        tools=[make_tool("read_logs", tool_output(logs_case))],
    )
    leader_fake = ScriptedModel(
        script=[
            {
                "tool_calls": [
                    tool_call(
                        "delegate_task_to_member", {"member_id": "logs", "task": "find the errors"}
                    )
                ]
            }
        ]
    )
    team = Team(members=[member], model=HeadroomAgnoModel(leader_fake, store=store))

    assert team.run(logs_case["question"]).content == "done"

    _assert_compressed_turn(logs_case, member_fake, tool_output(logs_case))
    assert member_model.total_tokens_saved > 10_000
    delegated = next(m for m in leader_fake.calls[1]["messages"] if m.role == "tool")
    assert "found it" in str(delegated.content)


def test_positional_messages_are_compressed_too(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    fake = ScriptedModel()
    model = HeadroomAgnoModel(fake, store=store)
    messages = [
        Message(role="user", content="why?"),
        Message(role="tool", tool_call_id="c1", content=tool_output(logs_case)),
    ]

    model.invoke(messages, Message(role="assistant"))

    assert len(str(fake.calls[0]["messages"][1].content)) < len(tool_output(logs_case)) / 2


@pytest.mark.parametrize(
    ("seed", "plant_at", "question"),
    [
        (1, 3, "Which order has its refund blocked, and why?"),
        (2, 150, "Why was a refund rejected by the issuer? Give the order id."),
        (3, 297, "Find the order whose status is refund_blocked and quote its note."),
    ],
)
def test_list_returning_tools_are_compressed(
    seed: int, plant_at: int, question: str, store: InMemoryStore
) -> None:
    """agno sends a list/dict tool result as its Python repr: it is compressed like JSON."""
    rows = order_records(seed, 300, plant_at)

    def list_orders(target: str) -> list[dict[str, object]]:
        """List the orders.

        Args:
            target: Which orders.
        """
        return rows

    fake = ScriptedModel(script=[{"tool_calls": [tool_call("list_orders", {"target": "all"})]}])
    model = HeadroomAgnoModel(fake, store=store)

    result = Agent(model=model, tools=[list_orders]).run(question)

    sent = next(m for m in fake.calls[1]["messages"] if m.role == "tool").content
    assert isinstance(sent, str) and len(sent) < len(str(rows)) / 4
    assert f"issuer rejected refund ref {seed:04d}-RX" in sent
    assert str(rows[plant_at]["order_id"]) in sent
    # The run keeps what agno made of the return value.
    kept = next(m for m in result.messages or [] if m.role == "tool")
    assert kept.content == str(rows)


def test_an_unreachable_model_limit_is_logged(
    logs_case: dict[str, Any], store: InMemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    model = HeadroomAgnoModel(ScriptedModel(), store=store, model_limit=6_000)
    # Many short turns: none is large enough to stub or cut, so the limit cannot be met
    # (one large output would be cut to fit by the core's window step).
    messages = [
        Message(role="user" if i % 2 == 0 else "assistant", content=f"turn {i}: " + "word " * 30)
        for i in range(400)
    ]
    with caplog.at_level(logging.WARNING, logger="headroom"):
        model.invoke(messages=messages, assistant_message=Message(role="assistant"))
    assert "over its budget" in caplog.text and "model_limit 6000" in caplog.text
    caplog.clear()
    roomy = HeadroomAgnoModel(ScriptedModel(), store=store, model_limit=200_000)
    with caplog.at_level(logging.WARNING, logger="headroom"):
        roomy.invoke(messages=messages, assistant_message=Message(role="assistant"))
    assert "over its budget" not in caplog.text
