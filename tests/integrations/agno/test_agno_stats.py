"""Run figures: every route writes its own keys, so used together none overwrites another."""

from __future__ import annotations

from typing import Any

from agno.agent import Agent
from agno.db.in_memory import InMemoryDb
from agno_kit import ScriptedModel, make_tool, tool_call, tool_output

from headroom.core import InMemoryStore
from headroom.integrations.agno import (
    HeadroomAgnoModel,
    HeadroomCompressionManager,
    headroom_input_hook,
    headroom_output_hook,
)
from headroom.integrations.agno.stats import input_savings


def _pasted(case: dict[str, Any]) -> str:
    return f"Here is the log I pulled:\n\n{tool_output(case)}\n\n{case['question']}"


def _all_routes(
    case: dict[str, Any], store: InMemoryStore, runs: int = 1, **agent_kwargs: Any
) -> tuple[Agent, HeadroomAgnoModel, HeadroomCompressionManager, Any]:
    """An agent using all three routes; each run calls the tool once, then answers."""
    turn = [{"tool_calls": [tool_call("read_logs", {"target": "a"})]}, {"content": "done"}]
    fake = ScriptedModel(script=turn * runs)
    model = HeadroomAgnoModel(fake, store=store)
    manager = HeadroomCompressionManager(store=store)
    hook = headroom_input_hook(store=store)
    agent = Agent(
        model=model,
        tools=[make_tool("read_logs", tool_output(case))],
        compression_manager=manager,
        pre_hooks=[hook],
        post_hooks=[headroom_output_hook(store=store)],
        **agent_kwargs,
    )
    return agent, model, manager, hook


def test_wrapper_manager_and_input_hook_together(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    agent, model, manager, hook = _all_routes(logs_case, store)

    result = agent.run(_pasted(logs_case))

    assert result.metrics is not None
    extra = result.metrics.additional_metrics or {}
    # The wrapper's four figures agree with each other and with the model's totals.
    assert extra["headroom_requests"] == 2
    assert (
        extra["headroom_tokens_before"] - extra["headroom_tokens_after"]
        == (extra["headroom_tokens_saved"])
    )
    assert extra["headroom_tokens_saved"] == model.total_tokens_saved
    # The manager's and the input hook's figures are their own keys.
    assert extra["headroom_tool_results_compressed"] == 1
    assert extra["headroom_tool_results_tokens_saved"] == manager.total_tokens_saved > 10_000
    assert extra["headroom_input_tokens_saved"] == hook.total_tokens_saved > 10_000
    # The same figures, without the prefix, in the run's metadata.
    report = (result.metadata or {})["headroom"]
    for key in (
        "requests",
        "tokens_before",
        "tokens_after",
        "tokens_saved",
        "tool_results_compressed",
        "tool_results_tokens_saved",
        "input_tokens_saved",
    ):
        assert report[key] == extra[f"headroom_{key}"], key


async def test_async_run_reports_input_savings(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    agent, _, _, hook = _all_routes(logs_case, store)
    result = await agent.arun(_pasted(logs_case))
    report = (result.metadata or {})["headroom"]
    assert report["input_tokens_saved"] == hook.total_tokens_saved > 10_000
    assert input_savings.pop(result.run_id) == 0  # taken by the output hook, not left behind


def test_session_metrics_sum_each_key(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    agent, model, manager, _ = _all_routes(
        logs_case, store, runs=2, db=InMemoryDb(), session_id="m"
    )
    runs = [agent.run(_pasted(logs_case)) for _ in range(2)]

    session = agent.get_session_metrics(session_id="m")

    assert session is not None and session.additional_metrics is not None
    summed = session.additional_metrics
    per_run = [r.metrics.additional_metrics or {} for r in runs if r.metrics is not None]
    for key in (
        "headroom_tokens_saved",
        "headroom_input_tokens_saved",
        "headroom_tool_results_tokens_saved",
    ):
        assert summed[key] == sum(extra.get(key, 0) for extra in per_run), key
    assert summed["headroom_tokens_saved"] == model.total_tokens_saved
    assert summed["headroom_tool_results_tokens_saved"] == manager.total_tokens_saved > 10_000


def test_team_session_sums_leader_and_member(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    from agno.team import Team

    member_turns = [{"tool_calls": [tool_call("read_logs", {"target": "a"})]}, {"content": "ok"}]
    member_model = HeadroomAgnoModel(ScriptedModel(script=member_turns * 2), store=store)
    member = Agent(
        name="logs",
        id="logs",
        model=member_model,
        tools=[make_tool("read_logs", tool_output(logs_case))],
    )
    delegate = tool_call("delegate_task_to_member", {"member_id": "logs", "task": "find errors"})
    leader_turns = [{"tool_calls": [delegate]}, {"content": "done"}]
    leader_model = HeadroomAgnoModel(ScriptedModel(script=leader_turns * 2), store=store)
    team = Team(
        members=[member],
        model=leader_model,
        db=InMemoryDb(),
        session_id="t",
        add_history_to_context=True,
        post_hooks=[headroom_output_hook(store=store)],
    )

    first = team.run(logs_case["question"])
    team.run("And which ports did they use?")

    assert (first.metadata or {})["headroom"]["requests"] == 2  # the leader's own turns
    session = team.get_session_metrics(session_id="t")
    assert session is not None and session.additional_metrics is not None
    summed = session.additional_metrics
    assert member_model.total_tokens_saved > 10_000
    assert summed["headroom_tokens_saved"] == (
        member_model.total_tokens_saved + leader_model.total_tokens_saved
    )
    assert summed["headroom_requests"] == member_model.stats["requests"] + 4
    assert (
        summed["headroom_tokens_before"] - summed["headroom_tokens_after"]
        == (summed["headroom_tokens_saved"])
    )
