# ruff: noqa: F811  (the stub fixture is imported from test_openai and named as a parameter)
"""One call through the wrapper: a child run per provider call, and the cheap path.

Tracers see the wrapper's run with one child run per round (what was sent,
what came back); handlers that stream or count usage see the wrapper's run
only. Without `cache=` / `rate_limiter=` the wrapper skips LangChain's own
cache bookkeeping; with them, both are honoured.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import UsageMetadataCallbackHandler
from langchain_core.globals import get_llm_cache, set_llm_cache
from langchain_core.language_models import BaseChatModel, FakeListChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.rate_limiters import InMemoryRateLimiter
from langchain_core.tracers.run_collector import RunCollectorCallbackHandler
from langchain_core.tracers.schemas import Run

from headroom import InMemoryStore
from headroom.integrations.langchain import HeadroomChatModel
from tests.integrations.langchain.conftest import corpus_messages
from tests.integrations.langchain.test_openai import _chat, _Stub, stub  # noqa: F401
from tests.integrations.langchain.test_retrieve_loop import (
    CASE,
    _hash,
    _merge,
    _retrieve,
    _same_reply,
    query_dataset,
)


def _reply_of(run: Run) -> dict[str, Any]:
    """The message a finished LLM run returned (serialized)."""
    assert run.outputs is not None
    return dict(run.outputs["generations"][0][0]["message"]["kwargs"])


def _call(llm: Any, messages: list[BaseMessage], mode: str, config: Any) -> Any:
    async def stream() -> Any:
        return _merge([c async for c in llm.astream(messages, config=config)])

    if mode == "invoke":
        return llm.invoke(messages, config=config)
    if mode == "ainvoke":
        return asyncio.run(llm.ainvoke(messages, config=config))
    if mode == "stream":
        return _merge(list(llm.stream(messages, config=config)))
    return asyncio.run(stream())


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
def test_each_provider_call_is_a_child_run(stub: _Stub, mode: str) -> None:
    messages, _ = corpus_messages(CASE)
    stub.replies = [_retrieve(_hash(messages)), {"content": "Pontiac."}]
    llm = HeadroomChatModel(_chat(stub), store=InMemoryStore()).bind_tools([query_dataset])
    tracer, usage = RunCollectorCallbackHandler(), UsageMetadataCallbackHandler()
    reply = _call(llm, messages, mode, {"callbacks": [tracer, usage]})

    assert [r.name for r in tracer.traced_runs] == ["HeadroomChatModel"]
    parent = tracer.traced_runs[0]
    rounds = parent.child_runs
    assert [(r.run_type, r.name, r.parent_run_id) for r in rounds] == [
        ("llm", "ChatOpenAI", parent.id)
    ] * 2
    for run, body in zip(rounds, stub.bodies, strict=True):
        # each child shows what that provider call was sent, compressed, with its tools
        prompt = run.inputs["prompts"][0]
        assert prompt.endswith(body["messages"][-1]["content"])
        assert all(m["content"] in prompt for m in body["messages"] if m["role"] == "tool")
        tools = [t["function"]["name"] for t in run.extra["invocation_params"]["tools"]]
        assert tools == [t["function"]["name"] for t in body["tools"]]
    original = sum(len(str(m.content)) for m in messages)
    assert len(rounds[0].inputs["prompts"][0]) < original / 2  # compressed, not the caller's
    assert stub.bodies[1]["messages"][-1]["role"] == "tool"  # round 2 carries the answer
    first, last = _reply_of(rounds[0]), _reply_of(rounds[1])
    assert [c["name"] for c in first["tool_calls"]] == ["headroom_retrieve"]
    assert last["content"] == "Pontiac."
    # the parent carries the answer, with the usage of both rounds, counted once
    summed = first["usage_metadata"]["total_tokens"] + last["usage_metadata"]["total_tokens"]
    assert _reply_of(parent)["usage_metadata"]["total_tokens"] == summed == 28
    assert reply.content == "Pontiac." and reply.usage_metadata["total_tokens"] == 28
    assert [u["total_tokens"] for u in usage.usage_metadata.values()] == [28]
    assert parent.extra["metadata"]["headroom"]["retrieval_rounds"] == 1


def test_the_wrapped_models_own_handlers_report_each_call_once(stub: _Stub) -> None:
    messages, _ = corpus_messages(CASE)
    stub.replies = [_retrieve(_hash(messages)), {"content": "Pontiac."}]
    tracer, usage = RunCollectorCallbackHandler(), UsageMetadataCallbackHandler()
    inner = _chat(stub).model_copy(update={"callbacks": [tracer, usage]})
    HeadroomChatModel(inner, store=InMemoryStore()).bind_tools([query_dataset]).invoke(messages)
    (parent,) = tracer.traced_runs
    assert [r.name for r in parent.child_runs] == ["ChatOpenAI", "ChatOpenAI"]
    assert [u["total_tokens"] for u in usage.usage_metadata.values()] == [28]


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_a_tracer_set_by_context_sees_the_rounds_of_a_stream(stub: _Stub, mode: str) -> None:
    from langchain_core.tracers.context import collect_runs

    messages, _ = corpus_messages(CASE)
    stub.replies = [_retrieve(_hash(messages)), {"content": "Pontiac."}]
    llm = HeadroomChatModel(_chat(stub), store=InMemoryStore()).bind_tools([query_dataset])
    with collect_runs() as tracer:  # no callbacks passed: LangChain's context hook adds it
        assert _call(llm, messages, mode, None).content == "Pontiac."
    (parent,) = tracer.traced_runs
    assert [r.name for r in parent.child_runs] == ["ChatOpenAI", "ChatOpenAI"]


def test_a_call_without_retrieval_is_one_child_run(stub: _Stub) -> None:
    messages, _ = corpus_messages(CASE)
    tracer = RunCollectorCallbackHandler()
    HeadroomChatModel(_chat(stub)).invoke(messages, config={"callbacks": [tracer]})
    (parent,) = tracer.traced_runs
    assert [r.name for r in parent.child_runs] == ["ChatOpenAI"]
    assert _reply_of(parent)["content"] == _reply_of(parent.child_runs[0])["content"]


def test_streamed_events_with_a_tracer_show_no_retrieval_round(stub: _Stub) -> None:
    messages, _ = corpus_messages(CASE)
    llm = HeadroomChatModel(_chat(stub), store=InMemoryStore()).bind_tools([query_dataset])
    stub.replies = [_retrieve(_hash(messages)), {"content": "Pontiac."}]
    invoked = llm.invoke(messages)
    stub.bodies.clear()
    tracer = RunCollectorCallbackHandler()

    async def events() -> list[Any]:
        stream = llm.astream_events(messages, {"callbacks": [tracer]}, version="v2")
        return [e async for e in stream]

    seen = asyncio.run(events())
    chunks = [e["data"]["chunk"] for e in seen if e["event"] == "on_chat_model_stream"]
    _same_reply(invoked, _merge(chunks))
    assert {e["name"] for e in seen if e["event"] == "on_chat_model_start"} == {"HeadroomChatModel"}
    assert len(tracer.traced_runs[0].child_runs) == 2  # the tracer still sees both rounds


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[BaseChatModel]:
    """Records the models whose LangChain `_generate_with_cache` (or async twin) runs."""
    seen: list[BaseChatModel] = []
    sync, async_ = BaseChatModel._generate_with_cache, BaseChatModel._agenerate_with_cache

    def spy(self: BaseChatModel, *args: Any, **kwargs: Any) -> Any:
        seen.append(self)
        return sync(self, *args, **kwargs)

    async def aspy(self: BaseChatModel, *args: Any, **kwargs: Any) -> Any:
        seen.append(self)
        return await async_(self, *args, **kwargs)

    monkeypatch.setattr(BaseChatModel, "_generate_with_cache", spy)
    monkeypatch.setattr(BaseChatModel, "_agenerate_with_cache", aspy)
    return seen


def test_without_cache_or_rate_limiter_the_bookkeeping_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _spy(monkeypatch)
    inner = FakeListChatModel(responses=["one", "two"])
    llm = HeadroomChatModel(inner)
    reply = llm.invoke("hi")
    assert seen == [inner]  # the wrapped model's own (its cache, its limiter) still runs
    assert reply.content == "one" and reply.response_metadata["headroom"]["tokens_before"] > 0
    assert isinstance(reply.id, str) and reply.id.startswith("lc_run-")  # as LangChain names it
    assert asyncio.run(llm.ainvoke("hi")).content == "two"
    assert seen == [inner, inner]  # async: the same


@pytest.mark.parametrize("setting", ["cache", "global_cache", "rate_limiter"])
def test_cache_and_rate_limiter_set_are_still_honoured(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, setting: str
) -> None:
    seen = _spy(monkeypatch)
    inner = FakeListChatModel(responses=["one", "two", "three"])
    limiter = InMemoryRateLimiter(requests_per_second=1000, check_every_n_seconds=0.001)
    acquired: list[bool] = []
    monkeypatch.setattr(limiter, "acquire", lambda *, blocking=True: acquired.append(True) or True)
    kwargs: dict[str, Any] = {}
    if setting == "cache":
        kwargs["cache"] = InMemoryCache()
    elif setting == "rate_limiter":
        kwargs["rate_limiter"] = limiter
    else:
        previous = get_llm_cache()
        set_llm_cache(InMemoryCache())
        request.addfinalizer(lambda: set_llm_cache(previous))
    llm = HeadroomChatModel(inner, **kwargs)
    first, second = llm.invoke("hi"), llm.invoke("hi")
    assert llm in seen
    if setting == "rate_limiter":
        assert (first.content, second.content, len(acquired)) == ("one", "two", 2)
    else:  # the second answer came from the cache, without calling the model
        assert first.content == second.content == "one"
        assert isinstance(second, AIMessage) and "headroom" in second.response_metadata


def test_an_agents_message_stream_with_a_tracer(stub: _Stub) -> None:
    """LangChain streams `invoke` through `_stream` without its run: the rounds still nest."""
    from langchain.agents import create_agent
    from langchain_core.messages import AIMessageChunk

    messages, _ = corpus_messages(CASE)
    stub.replies = [_retrieve(_hash(messages)), {"content": "The Pontiac."}]
    agent = create_agent(HeadroomChatModel(_chat(stub), store=InMemoryStore()), [query_dataset])
    tracer = RunCollectorCallbackHandler()
    stream = agent.stream({"messages": messages}, {"callbacks": [tracer]}, stream_mode="messages")
    chunks = [c for c, _ in stream if isinstance(c, AIMessageChunk)]
    assert _merge(chunks).content == "The Pontiac."  # the retrieval round is not streamed
    runs = [tracer.traced_runs[0]]
    for run in runs:
        runs.extend(run.child_runs)
    (model_run,) = [r for r in runs if r.name == "HeadroomChatModel"]
    assert [(r.name, r.run_type) for r in model_run.child_runs] == [("ChatOpenAI", "llm")] * 2
    assert model_run.extra["metadata"]["headroom"]["retrieval_rounds"] == 1
