"""Pre/post hooks that change the run: compressed pasted input, resolved markers, savings in metadata."""

from __future__ import annotations

from typing import Any

import pytest
from agno.agent import Agent
from agno.db.in_memory import InMemoryDb
from agno_kit import ScriptedModel, has_needle, make_tool, tool_call, tool_output

from headroom.core import InMemoryStore
from headroom.integrations.agno import HeadroomAgnoModel, headroom_input_hook, headroom_output_hook


def _pasted(case: dict[str, Any]) -> str:
    return f"Here is the log I pulled:\n\n{tool_output(case)}\n\n{case['question']}"


def test_input_hook_compresses_a_pasted_log(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    fake = ScriptedModel()
    hook = headroom_input_hook(store=store)
    agent = Agent(model=fake, pre_hooks=[hook], db=InMemoryDb(), session_id="h")
    text = _pasted(logs_case)

    agent.run(text)

    user = next(m for m in fake.calls[0]["messages"] if m.role == "user")
    assert isinstance(user.content, str)
    assert len(user.content) < len(text) / 2
    assert user.content.startswith("Here is the log I pulled:")
    assert logs_case["question"] in user.content
    for needle in logs_case["needles"]:
        assert has_needle(needle, user.content), needle
    assert hook.total_tokens_saved > 10_000


async def test_input_hook_in_async_runs(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    fake = ScriptedModel()
    agent = Agent(model=fake, pre_hooks=[headroom_input_hook(store=store)])
    await agent.arun(_pasted(logs_case))
    user = next(m for m in fake.calls[0]["messages"] if m.role == "user")
    assert len(str(user.content)) < len(_pasted(logs_case)) / 2


def test_input_hook_leaves_short_prose_alone(store: InMemoryStore) -> None:
    fake = ScriptedModel()
    Agent(model=fake, pre_hooks=[headroom_input_hook(store=store)]).run(
        "What is the capital of France?"
    )
    user = next(m for m in fake.calls[0]["messages"] if m.role == "user")
    assert user.content == "What is the capital of France?"


def _echoing_agent(
    case: dict[str, Any], store: InMemoryStore, **hook_kwargs: Any
) -> tuple[Agent, HeadroomAgnoModel]:
    """The model copies the compressed tool output, marker included, into its answer."""

    def echo(messages: list[Any]) -> dict[str, Any]:
        return {
            "content": "Summary:\n" + str(next(m for m in messages if m.role == "tool").content)
        }

    fake = ScriptedModel(script=[{"tool_calls": [tool_call("read_logs", {"target": "a"})]}, echo])
    model = HeadroomAgnoModel(fake, store=store)
    hook = headroom_output_hook(store=store, **hook_kwargs)
    return Agent(
        model=model, tools=[make_tool("read_logs", tool_output(case))], post_hooks=[hook]
    ), model


@pytest.mark.parametrize("mode", ["expand", "strip", "keep"])
def test_output_hook_resolves_echoed_markers(
    mode: str, logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    agent, model = _echoing_agent(logs_case, store, markers=mode, max_expand_chars=10**7)

    result = agent.run(logs_case["question"])

    report = (result.metadata or {})["headroom"]
    assert report["tokens_saved"] == model.total_tokens_saved > 0
    assert report["requests"] == 2
    assert len(report["markers_in_answer"]) >= 1
    content = str(result.content)
    if mode == "keep":
        assert "[headroom: " in content
    else:
        assert "[headroom: " not in content
    if mode == "expand":
        assert tool_output(logs_case) in content
    if mode == "strip":
        assert "omitted; the original is kept under" in content


def test_output_hook_does_not_expand_huge_originals(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    agent, _ = _echoing_agent(logs_case, store, max_expand_chars=100)
    content = str(agent.run(logs_case["question"]).content)
    assert "[headroom: " not in content and tool_output(logs_case) not in content


def test_output_hook_survives_a_failing_store(logs_case: dict[str, Any]) -> None:
    class FailingReads(InMemoryStore):
        def get(self, key: str) -> str | None:
            raise ConnectionError("store down")

    agent, _ = _echoing_agent(logs_case, FailingReads(), max_expand_chars=10**7)
    content = str(agent.run(logs_case["question"]).content)
    assert "[headroom: " not in content and "omitted; the original is kept under" in content


def test_output_hook_keeps_the_agents_metadata(store: InMemoryStore) -> None:
    shared = {"team": "ops"}
    agent = Agent(
        model=ScriptedModel(), post_hooks=[headroom_output_hook(store=store)], metadata=shared
    )
    result = agent.run("hi")
    assert (result.metadata or {})["team"] == "ops"
    assert "headroom" in (result.metadata or {})
    assert shared == {"team": "ops"}


def test_bad_marker_mode() -> None:
    with pytest.raises(ValueError, match="markers"):
        headroom_output_hook(markers="explode")  # type: ignore[arg-type]


def test_input_hook_fails_open(
    logs_case: dict[str, Any], store: InMemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headroom.integrations.agno import hooks as module

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("core exploded")

    monkeypatch.setattr(module, "compress", broken)
    fake = ScriptedModel()
    Agent(model=fake, pre_hooks=[headroom_input_hook(store=store)]).run(_pasted(logs_case))
    user = next(m for m in fake.calls[0]["messages"] if m.role == "user")
    assert user.content == _pasted(logs_case)
