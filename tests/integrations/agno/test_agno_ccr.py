"""CCR round trip: a stubbed output can be fetched back with `headroom_retrieve` inside agno's loop."""

from __future__ import annotations

import re
from typing import Any

import pytest
from agno.agent import Agent
from agno.models.message import Message
from agno_kit import ScriptedModel, make_tool, tool_call, tool_output

from headroom.core import InMemoryStore
from headroom.exceptions import ConfigurationError
from headroom.integrations.agno import HeadroomAgnoModel, retrieve_function

MARKER = re.compile(r'headroom_retrieve\(hash="([0-9a-f]{16})"\)')


def _retrieve_from_marker(messages: list[Message]) -> dict[str, Any]:
    """The model's turn after the stub: ask for the original the marker names."""
    tool_msg = next(m for m in messages if m.role == "tool")
    found = MARKER.search(str(tool_msg.content))
    assert found, "the compressed output carries no retrieval marker"
    return {"tool_calls": [tool_call("headroom_retrieve", {"hash": found.group(1)}, "call_r")]}


def _tool_names(call: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in call.get("tools") or []]


def test_round_trip_through_the_agent(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    original = tool_output(logs_case)
    fake = ScriptedModel(
        script=[
            {"tool_calls": [tool_call("read_logs", {"target": "auth.log"})]},
            _retrieve_from_marker,
            {"content": "ok"},
        ]
    )
    model = HeadroomAgnoModel(fake, store=store)
    agent = Agent(model=model, tools=[make_tool("read_logs", original)])

    result = agent.run(logs_case["question"])

    assert result.content == "ok"
    # Offered only once there is something to retrieve.
    assert "headroom_retrieve" not in _tool_names(fake.calls[0])
    assert "headroom_retrieve" in _tool_names(fake.calls[1])
    # agno ran the call and answered it from this model's store.
    answer = next(
        m for m in result.messages or [] if m.role == "tool" and m.tool_call_id == "call_r"
    )
    assert answer.content == original
    assert answer.tool_name == "headroom_retrieve"
    # The retrieved original reaches the model whole: retrieval outputs are never recompressed.
    sent_answer = next(m for m in fake.calls[2]["messages"] if m.tool_call_id == "call_r")
    assert sent_answer.content == original
    assert any(
        store.get(h) == original for h in MARKER.findall(str(fake.calls[1]["messages"][-1].content))
    )


@pytest.mark.parametrize(
    ("mode", "offered_first_turn", "offered_after_stub"),
    [("always", True, True), ("never", False, False)],
)
def test_retrieve_tool_modes(
    mode: str,
    offered_first_turn: bool,
    offered_after_stub: bool,
    logs_case: dict[str, Any],
    store: InMemoryStore,
) -> None:
    fake = ScriptedModel(script=[{"tool_calls": [tool_call("read_logs", {"target": "auth.log"})]}])
    agent = Agent(
        model=HeadroomAgnoModel(fake, store=store, retrieve_tool=mode),
        tools=[make_tool("read_logs", tool_output(logs_case))],
    )  # type: ignore[arg-type]
    agent.run(logs_case["question"])
    assert ("headroom_retrieve" in _tool_names(fake.calls[0])) is offered_first_turn
    assert ("headroom_retrieve" in _tool_names(fake.calls[1])) is offered_after_stub
    # Markers name the call only when the model has the tool; the output is cut either way.
    sent = next(m.content for m in fake.calls[1]["messages"] if m.role == "tool")
    assert "[headroom: " in sent
    assert ("headroom_retrieve(hash=" in sent) is offered_after_stub


def test_unknown_hash_is_answered_as_text(store: InMemoryStore) -> None:
    fn = retrieve_function(store)
    assert fn.entrypoint is not None
    assert "headroom_retrieve error" in fn.entrypoint(hash="0123456789abcdef")
    store.put("0123456789abcdef", "the original")
    assert fn.entrypoint(hash="0123456789abcdef") == "the original"


def test_users_own_retrieve_tool_is_kept(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    def headroom_retrieve(hash: str) -> str:
        """My own retrieval."""
        return "mine"

    fake = ScriptedModel(script=[{"tool_calls": [tool_call("read_logs", {"target": "a"})]}])
    agent = Agent(
        model=HeadroomAgnoModel(fake, store=store),
        tools=[make_tool("read_logs", tool_output(logs_case)), headroom_retrieve],
    )
    agent.run(logs_case["question"])
    # On the first turn (nothing to retrieve yet) too: only Headroom's own tool is held back.
    for call in fake.calls[:2]:
        offered = [t for t in call["tools"] if t["function"]["name"] == "headroom_retrieve"]
        assert len(offered) == 1 and offered[0]["function"]["description"].startswith(
            "My own retrieval"
        )


def _limited_agent(
    case: dict[str, Any], store: InMemoryStore, second_turn: Any
) -> tuple[Agent, ScriptedModel, Any]:
    tool = make_tool("read_logs", tool_output(case))
    fake = ScriptedModel(
        script=[
            {"tool_calls": [tool_call("read_logs", {"target": "auth.log"})]},
            second_turn,
            {"content": "ok"},
        ]
    )
    agent = Agent(model=HeadroomAgnoModel(fake, store=store), tools=[tool], tool_call_limit=1)
    return agent, fake, tool


async def _run(agent: Agent, question: str, mode: str) -> None:
    """One run in `mode`: run, arun, stream or astream (events drained)."""
    if mode == "run":
        agent.run(question)
    elif mode == "arun":
        await agent.arun(question)
    elif mode == "stream":
        list(agent.run(question, stream=True))
    else:
        [e async for e in agent.arun(question, stream=True)]


MODES = ["run", "arun", "stream", "astream"]


def _answer_to(messages: list[Message], call_id: str) -> str:
    return str(next(m for m in messages if m.role == "tool" and m.tool_call_id == call_id).content)


@pytest.mark.parametrize("mode", MODES)
async def test_retrievals_do_not_count_against_tool_call_limit(
    mode: str, logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    """With tool_call_limit=1 the user's tool used the one call; the retrieval still runs."""
    agent, fake, tool = _limited_agent(logs_case, store, _retrieve_from_marker)

    await _run(agent, logs_case["question"], mode)

    assert len(fake.calls) == 3 and tool.calls == ["auth.log"]
    assert _answer_to(fake.calls[2]["messages"], "call_r") == tool_output(logs_case)


@pytest.mark.parametrize("mode", MODES)
async def test_limit_still_applies_to_the_users_tools(
    mode: str, logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    """One turn asks for a retrieval and the user's tool again: only the retrieval runs."""

    def both(messages: list[Message]) -> dict[str, Any]:
        retrieval = _retrieve_from_marker(messages)["tool_calls"][0]
        again = tool_call("read_logs", {"target": "other.log"}, "call_2")
        return {"tool_calls": [again, retrieval]}

    agent, fake, tool = _limited_agent(logs_case, store, both)

    await _run(agent, logs_case["question"], mode)

    assert tool.calls == ["auth.log"]
    sent = fake.calls[2]["messages"]
    assert _answer_to(sent, "call_r") == tool_output(logs_case)
    assert "Tool call limit reached" in _answer_to(sent, "call_2")
    # Results follow the order of the calls.
    assert [m.tool_call_id for m in sent if m.role == "tool"][-2:] == ["call_2", "call_r"]


@pytest.mark.parametrize("rounds", [1, 3])
@pytest.mark.parametrize("stream", [False, True])
def test_the_tool_is_withdrawn_after_the_round_limit(
    rounds: int, stream: bool, logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    """Retrievals are outside tool_call_limit, so the round limit is what makes the model answer."""
    fake = ScriptedModel()

    def retrieve_while_offered(messages: list[Message]) -> dict[str, Any]:
        if "headroom_retrieve" in _tool_names(fake.calls[-1]):
            return _retrieve_from_marker(messages)
        return {"content": "answer"}

    read = {"tool_calls": [tool_call("read_logs", {"target": "auth.log"})]}
    fake.script = [read, *[retrieve_while_offered] * 6]
    model = HeadroomAgnoModel(fake, store=store, max_retrieve_rounds=rounds)
    agent = Agent(
        model=model, tools=[make_tool("read_logs", tool_output(logs_case))], tool_call_limit=1
    )

    if stream:
        list(agent.run(logs_case["question"], stream=True))
    else:
        agent.run(logs_case["question"])

    offered = ["headroom_retrieve" in _tool_names(call) for call in fake.calls]
    # nothing to retrieve on the first turn; offered for `rounds` turns, then withdrawn
    assert offered == [False] + [True] * rounds + [False]
    assert fake.calls[-1]["messages"][-1].tool_name == "headroom_retrieve"


def test_zero_rounds_never_offers_the_tool(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    fake = ScriptedModel(script=[{"tool_calls": [tool_call("read_logs", {"target": "a"})]}])
    model = HeadroomAgnoModel(fake, store=store, max_retrieve_rounds=0)
    Agent(model=model, tools=[make_tool("read_logs", tool_output(logs_case))]).run("q")
    assert not any("headroom_retrieve" in _tool_names(call) for call in fake.calls)
    sent = next(m.content for m in fake.calls[1]["messages"] if m.role == "tool")
    assert "[headroom: " in sent and "headroom_retrieve(hash=" not in sent


def test_bad_round_limit_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="max_retrieve_rounds"):
        HeadroomAgnoModel(ScriptedModel(), max_retrieve_rounds=-1)
