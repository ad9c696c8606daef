"""The wrapper is a real subclass of the provider's class: writes, copies, pickling, dataclasses.

The OpenAIChat tests send real requests through the OpenAI SDK to a fake OpenAI
server on 127.0.0.1 (tests/server/fake_upstream.py) and read what it received.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from agno.agent import Agent
from agno.models.message import Message
from agno_kit import ScriptedModel, has_needle, make_tool, tool_call, tool_output

from headroom.core import InMemoryStore
from headroom.integrations.agno import HeadroomAgnoModel, headroom_input_hook, headroom_output_hook

pytest.importorskip("openai")
pytest.importorskip("uvicorn")

from agno.models.openai import OpenAIChat

from tests.server.fake_upstream import FakeUpstream
from tests.server.support import serve

#: A port nothing listens on: a request that still went there would fail.
NOWHERE = "http://127.0.0.1:9/v1"


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream()
    with serve(fake.app()) as url:
        yield fake, f"{url}/v1"


def _pasted(case: dict[str, Any]) -> str:
    return f"Here is the log I pulled:\n\n{tool_output(case)}\n\n{case['question']}"


def _chat_bodies(fake: FakeUpstream, since: int) -> list[dict[str, Any]]:
    return [c.body for c in fake.calls[since:] if c.path.endswith("/chat/completions")]


def test_writes_after_wrapping_reach_the_request(
    upstream: tuple[FakeUpstream, str], logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    """`store=False` (OpenAI's retention opt-out), temperature and base_url set on the wrapper,
    through a run whose pasted log is compressed and then retrieved by the model."""
    fake, url = upstream
    model = HeadroomAgnoModel(
        OpenAIChat(id="gpt-4o", api_key="test", base_url=NOWHERE), store=store
    )
    model.base_url = url
    model.temperature = 0.0
    model.store = False
    agent = Agent(
        model=model,
        pre_hooks=[headroom_input_hook(store=store)],
        post_hooks=[headroom_output_hook(store=store)],
    )
    since = len(fake.calls)

    result = agent.run(_pasted(logs_case))

    bodies = _chat_bodies(fake, since)
    assert result.content == "final answer"
    # The fake calls headroom_retrieve on the first marker it sees, then answers.
    assert len(bodies) == 2
    assert all(b["store"] is False and b["temperature"] == 0.0 for b in bodies)
    user = bodies[0]["messages"][0]["content"]
    assert len(user) < len(_pasted(logs_case)) / 2
    assert "headroom_retrieve" in json.dumps(bodies[0]["tools"])
    # Headroom's store answered the retrieval: OpenAI's `store` field did not replace it.
    answer = next(m for m in bodies[1]["messages"] if m["role"] == "tool")
    assert answer["tool_call_id"] == "call_hr_1" and len(answer["content"]) > len(user)
    for needle in logs_case["needles"]:
        assert has_needle(needle, answer["content"]), needle
    # What the input hook saved is in the run's figures.
    report = (result.metadata or {})["headroom"]
    assert report["input_tokens_saved"] > 10_000
    assert result.metrics is not None and result.metrics.additional_metrics is not None
    assert (
        result.metrics.additional_metrics["headroom_input_tokens_saved"]
        == (report["input_tokens_saved"])
    )


def test_the_model_passed_in_is_a_template() -> None:
    inner = OpenAIChat(id="gpt-4o", api_key="test")
    model = HeadroomAgnoModel(inner)
    model.temperature = 0.5
    assert inner.temperature is None
    assert model != inner and inner != model
    assert isinstance(model, OpenAIChat) and model.get_provider() == inner.get_provider()
    assert model.to_dict() == {**inner.to_dict(), "temperature": 0.5}


def test_dataclass_fields_replace_and_copies() -> None:
    inner = OpenAIChat(id="gpt-4o", api_key="test")
    model = HeadroomAgnoModel(inner, store=InMemoryStore(), model_limit=50_000)
    names = {f.name for f in dataclasses.fields(model)}
    assert {f.name for f in dataclasses.fields(inner)} <= names
    assert "store" in names and "headroom_store" in names

    changed = dataclasses.replace(model, temperature=0.2)
    assert type(changed) is type(model) and isinstance(changed, HeadroomAgnoModel)
    assert changed.temperature == 0.2 and model.temperature is None
    assert changed.headroom_store is model.headroom_store
    assert changed.headroom_model_limit == 50_000
    assert changed.headroom_totals is model.headroom_totals

    shallow = copy.copy(model)
    deep = copy.deepcopy(model)
    for clone in (shallow, deep):
        assert type(clone) is type(model) and clone.id == "gpt-4o"
        assert clone.headroom_store is model.headroom_store
    assert dataclasses.is_dataclass(model) and model == shallow


def test_pickles_and_still_compresses(logs_case: dict[str, Any]) -> None:
    model = HeadroomAgnoModel(ScriptedModel(id="gpt-4o"), model_limit=200_000)
    model.retries = 2
    Agent(model=model).run("warm up")  # caches the retrieve tool (a closure): not pickled

    loaded = pickle.loads(pickle.dumps(model))

    assert type(loaded) is type(model) and isinstance(loaded, ScriptedModel)
    assert loaded.retries == 2 and loaded.headroom_model_limit == 200_000
    assert loaded.headroom_config == model.headroom_config
    messages = [
        Message(role="user", content="why?"),
        Message(role="tool", tool_call_id="c1", content=tool_output(logs_case)),
    ]
    loaded.invoke(messages=messages, assistant_message=Message(role="assistant"))
    assert loaded.total_tokens_saved > 10_000
    assert model.total_tokens_saved < loaded.total_tokens_saved  # totals are per process

    openai = pickle.loads(pickle.dumps(HeadroomAgnoModel(OpenAIChat(id="gpt-4o", api_key="k"))))
    assert type(openai).__name__ == "OpenAIChat" and openai.api_key == "k"


def test_setting_store_false_on_an_agent_model_keeps_compression(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    """Provider field `store` and Headroom's store are different attributes."""
    fake = ScriptedModel(script=[{"tool_calls": [tool_call("read_logs", {"target": "auth.log"})]}])
    model = HeadroomAgnoModel(fake, store=store)
    model.store = False  # type: ignore[attr-defined]  # a provider-style field on this fake
    Agent(model=model, tools=[make_tool("read_logs", tool_output(logs_case))]).run("why?")
    tool_msg = next(m for m in fake.calls[1]["messages"] if m.role == "tool")
    assert len(str(tool_msg.content)) < len(tool_output(logs_case)) / 2
    assert model.headroom_store is store and model.last_result is not None
    assert all(store.get(h) is not None for h in model.last_result.ccr_hashes)


def test_one_class_per_provider_class_even_when_threads_race() -> None:
    @dataclasses.dataclass
    class FreshModel(ScriptedModel):
        """A provider class nobody has wrapped yet."""

    barrier = threading.Barrier(8)
    made: list[type] = []

    def wrap() -> None:
        barrier.wait(timeout=30)
        made.append(type(HeadroomAgnoModel(FreshModel())))

    threads = [threading.Thread(target=wrap) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(made) == 8 and len(set(made)) == 1
    assert made[0].__name__ == "FreshModel" and issubclass(made[0], FreshModel)
