# ruff: noqa: F811  (the stub fixture is imported from test_openai and named as a parameter)
"""The wrapper's retrieve loop through real LangChain: ChatOpenAI on a loopback stub.

Parity (a stream merges to what invoke returns), round exhaustion, store
failures, traces, caching, pickling and `compress_tool` ids.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import threading
from typing import Annotated, Any
from uuid import UUID

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import FakeListChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import InjectedToolCallId, tool
from langgraph.types import Command

from headroom import CompressionHooks, InMemoryStore
from headroom.core.ccr import content_hash
from headroom.integrations.langchain import HeadroomChatModel, compress_tool
from tests.integrations.langchain.conftest import corpus_messages
from tests.integrations.langchain.test_openai import _chat, _Stub, stub  # noqa: F401

CASE = "p-json-cars-hp"


@tool
def query_dataset(q: str) -> str:
    """Query the dataset."""
    return q


def _hash(messages: list[BaseMessage]) -> str:
    return content_hash(str(next(m for m in messages if isinstance(m, ToolMessage)).content))


def _retrieve(h: str, call_id: str = "r1", text: str = "Let me check. ") -> dict[str, Any]:
    return {"content": text, "tool_calls": [{"id": call_id, "name": "headroom_retrieve",
            "args": {"hash": h}}]}  # fmt: skip


def _merge(chunks: list[Any]) -> Any:
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return merged


def _same_reply(invoked: AIMessage, merged: Any) -> None:
    assert merged.content == invoked.content
    assert merged.tool_calls == invoked.tool_calls
    assert merged.usage_metadata == invoked.usage_metadata
    assert merged.response_metadata["headroom"] == invoked.response_metadata["headroom"]
    assert merged.response_metadata["finish_reason"] == invoked.response_metadata["finish_reason"]
    assert merged.response_metadata["model_name"] == invoked.response_metadata["model_name"]


@pytest.mark.parametrize("retrieve_rounds", [0, 1, 2])
def test_stream_merges_to_the_invoke_reply(stub: _Stub, retrieve_rounds: int) -> None:
    messages, _ = corpus_messages(CASE)
    h = _hash(messages)
    script = [_retrieve(h, f"r{i}") for i in range(retrieve_rounds)] + [{"content": "Pontiac."}]
    llm = HeadroomChatModel(_chat(stub), store=InMemoryStore()).bind_tools([query_dataset])
    stub.replies = script
    invoked = llm.invoke(messages)
    invoke_bodies = list(stub.bodies)
    stub.bodies.clear()
    chunks = list(llm.stream(messages))
    assert len(stub.bodies) == len(invoke_bodies) == retrieve_rounds + 1
    merged = _merge(chunks)
    _same_reply(invoked, merged)
    assert invoked.content == "Pontiac."
    assert invoked.response_metadata["headroom"]["retrieval_rounds"] == retrieve_rounds
    assert invoked.usage_metadata is not None
    assert invoked.usage_metadata["total_tokens"] == 14 * (retrieve_rounds + 1)
    assert all(c.get("name") != "headroom_retrieve" for ch in chunks for c in ch.tool_call_chunks)


def test_astream_and_astream_events_merge_to_the_invoke_reply(stub: _Stub) -> None:
    messages, _ = corpus_messages(CASE)
    llm = HeadroomChatModel(_chat(stub), store=InMemoryStore()).bind_tools([query_dataset])
    stub.replies = [_retrieve(_hash(messages)), {"content": "Pontiac."}]

    async def run() -> tuple[AIMessage, list[Any], list[Any]]:
        invoked = await llm.ainvoke(messages)
        stub.bodies.clear()
        streamed = [c async for c in llm.astream(messages)]
        stub.bodies.clear()
        events = [
            e["data"]["chunk"]
            async for e in llm.astream_events(messages, version="v2")
            if e["event"] == "on_chat_model_stream"
        ]
        return invoked, streamed, events

    invoked, streamed, events = asyncio.run(run())
    _same_reply(invoked, _merge(streamed))
    _same_reply(invoked, _merge(events))


def test_round_limit_ends_with_an_answer_not_a_call(stub: _Stub) -> None:
    messages, _ = corpus_messages(CASE)
    h = _hash(messages)
    stub.replies = [_retrieve(h, "r1"), _retrieve(h, "r2"), {"content": "Answer."}]
    llm = HeadroomChatModel(_chat(stub), store=InMemoryStore(), max_retrieve_rounds=2)
    reply = llm.bind_tools([query_dataset]).invoke(messages)
    assert len(stub.bodies) == 3
    for body in stub.bodies[:2]:
        assert [t["function"]["name"] for t in body["tools"]][-1] == "headroom_retrieve"
    # the last call goes without the tool, so the model must answer
    assert [t["function"]["name"] for t in stub.bodies[2]["tools"]] == ["query_dataset"]
    assert reply.content == "Answer." and reply.tool_calls == []
    assert reply.response_metadata["headroom"]["retrieval_rounds"] == 2
    assert reply.usage_metadata is not None and reply.usage_metadata["total_tokens"] == 42


class _BrokenStore(InMemoryStore):
    def get(self, key: str) -> str | None:
        raise ConnectionError("redis down")


def test_a_failing_store_gives_the_model_an_error_text(stub: _Stub) -> None:
    messages, _ = corpus_messages(CASE)
    stub.replies = [_retrieve(_hash(messages)), {"content": "Without it, then."}]
    llm = HeadroomChatModel(_chat(stub), store=_BrokenStore())
    reply = llm.bind_tools([query_dataset]).invoke(messages)
    assert reply.content == "Without it, then."
    answer = stub.bodies[1]["messages"][-1]
    assert answer["role"] == "tool" and "headroom_retrieve error" in answer["content"]


class _Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.started: list[tuple[list[list[BaseMessage]], dict[str, Any], dict[str, Any]]] = []

    def on_chat_model_start(
        self, serialized: Any, messages: list[list[BaseMessage]], *, run_id: UUID, **kw: Any
    ) -> None:
        self.started.append((messages, kw.get("invocation_params") or {}, kw.get("metadata") or {}))


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_trace_shows_what_was_sent_and_the_savings(stub: _Stub, mode: str) -> None:
    messages, _ = corpus_messages(CASE)
    recorder = _Recorder()
    llm = HeadroomChatModel(_chat(stub), store=InMemoryStore()).bind_tools([query_dataset])
    config = {"callbacks": [recorder]}
    if mode == "invoke":
        llm.invoke(messages, config=config)
    else:
        list(llm.stream(messages, config=config))
    assert len(recorder.started) == 1
    traced, params, metadata = recorder.started[0]
    sent = stub.bodies[-1]["messages"]
    assert [str(m.content) for m in traced[0]][-1] == sent[-1]["content"]
    original = sum(len(str(m.content)) for m in messages)
    assert sum(len(str(m.content)) for m in traced[0]) < original / 2
    names = [t["function"]["name"] for t in params["tools"]]
    assert names == ["query_dataset", "headroom_retrieve"]
    assert metadata["headroom"]["tokens_saved"] > 0


def test_cache_and_rate_limiter_on_the_wrapper_are_honoured() -> None:
    from langchain_core.rate_limiters import InMemoryRateLimiter

    messages, _ = corpus_messages(CASE)
    inner = FakeListChatModel(responses=["one", "two"])
    limiter = InMemoryRateLimiter(requests_per_second=1000, check_every_n_seconds=0.001)
    acquired: list[int] = []
    original_acquire = limiter.acquire

    def acquire(*, blocking: bool = True) -> bool:
        acquired.append(1)
        return original_acquire(blocking=blocking)

    object.__setattr__(limiter, "acquire", acquire)
    llm = HeadroomChatModel(inner, cache=InMemoryCache(), rate_limiter=limiter)
    first = llm.invoke(messages)
    second = llm.invoke(messages)
    assert first.content == second.content == "one"  # the second came from the cache
    assert acquired == [1]
    assert llm.batch([messages, messages])[0].content == "one"


def test_the_wrapper_pickles_around_a_picklable_model() -> None:
    messages, _ = corpus_messages(CASE)
    llm = HeadroomChatModel(FakeListChatModel(responses=["ok"]))
    llm.invoke(messages)
    copy = pickle.loads(pickle.dumps(llm))
    assert copy.total_tokens_saved == llm.total_tokens_saved > 0
    assert copy.invoke(messages).content == "ok"
    assert copy.total_tokens_saved == 2 * llm.total_tokens_saved


def test_async_calls_compress_large_inputs_off_the_event_loop() -> None:
    messages, _ = corpus_messages(CASE)
    threads: list[threading.Thread] = []

    class Spy(CompressionHooks):
        def pre_compress(self, messages: Any, context: Any) -> Any:
            threads.append(threading.current_thread())
            return messages

    llm = HeadroomChatModel(FakeListChatModel(responses=["ok"]), hooks=Spy())

    async def run() -> threading.Thread:
        await llm.ainvoke(messages)
        return threading.current_thread()

    loop_thread = asyncio.run(run())
    assert threads and threads[0] is not loop_thread


def test_compress_tool_passes_the_real_tool_call_id_in_an_agent() -> None:
    from langchain.agents import create_agent

    from tests.integrations.langchain.fakes import RecordingChatModel

    big = "\n".join(f"2026-01-01 INFO worker-{i % 7} processed job {i} in 12ms" for i in range(400))
    seen: list[str] = []

    @tool
    def fetch(q: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> Command:  # type: ignore[type-arg]
        """Fetch logs."""
        seen.append(tool_call_id)
        return Command(update={"messages": [ToolMessage(big, tool_call_id=tool_call_id)]})

    def respond(sent: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        if isinstance(sent[-1], ToolMessage):
            return AIMessage(content="done")
        return AIMessage(
            content="", tool_calls=[{"name": "fetch", "args": {"q": "x"}, "id": "c-7"}]
        )

    agent = create_agent(RecordingChatModel(responses=[respond]), tools=[compress_tool(fetch)])
    state = agent.invoke({"messages": [HumanMessage("logs?")]})
    assert seen == ["c-7"]
    assert state["messages"][-1].content == "done"
    assert any(isinstance(m, ToolMessage) and m.tool_call_id == "c-7" for m in state["messages"])


def test_a_configurable_init_chat_model_is_wrapped_and_counted(
    stub: _Stub, caplog: pytest.LogCaptureFixture
) -> None:
    from langchain.chat_models import init_chat_model

    messages, _ = corpus_messages(CASE)
    configurable = init_chat_model(
        "openai:gpt-4o",
        configurable_fields=("model", "temperature"),
        api_key="sk-test",
        base_url=stub.url,
        max_retries=0,
    )
    llm = HeadroomChatModel(configurable)
    llm.invoke(messages)
    saved = llm.total_tokens_saved
    assert saved > 0 and stub.bodies[-1]["model"] == "gpt-4o"
    with caplog.at_level("WARNING", logger="headroom"):
        config = {"configurable": {"model": "gpt-4o-mini"}}
        reply = llm.invoke(messages, config=config)  # type: ignore[arg-type]
        chunks = list(llm.stream(messages, config=config))  # type: ignore[arg-type]
    assert stub.bodies[-1]["model"] == stub.bodies[-2]["model"] == "gpt-4o-mini"
    assert reply.response_metadata["headroom"]["tokens_saved"] == saved
    assert _merge(chunks).response_metadata["headroom"]["tokens_saved"] == saved
    assert llm.total_tokens_saved == 3 * saved and llm.total_calls == 3
    assert not [r for r in caplog.records if "streaming" in r.getMessage()]


def test_langgraph_messages_stream_merges_to_the_final_message(stub: _Stub) -> None:
    from langchain.agents import create_agent
    from langchain_core.messages import AIMessageChunk

    messages, _ = corpus_messages(CASE)
    h = _hash(messages)
    llm = HeadroomChatModel(_chat(stub), store=InMemoryStore())
    agent = create_agent(llm, tools=[query_dataset])
    stub.replies = [_retrieve(h), {"content": "The Pontiac."}]
    state = agent.invoke({"messages": messages})
    final = state["messages"][-1]
    stub.bodies.clear()
    chunks = [
        chunk
        for chunk, _meta in agent.stream({"messages": messages}, stream_mode="messages")
        if isinstance(chunk, AIMessageChunk)
    ]
    merged = _merge(chunks)
    assert final.content == merged.content == "The Pontiac."
    assert merged.tool_calls == final.tool_calls == []
    assert merged.usage_metadata == final.usage_metadata
    assert merged.response_metadata["finish_reason"] == "stop"
    assert merged.response_metadata["headroom"] == final.response_metadata["headroom"]


def test_middleware_without_the_tool_writes_markers_without_a_call(stub: _Stub) -> None:
    from langchain.agents import create_agent

    from headroom.integrations.langchain import HeadroomMiddleware

    messages, _ = corpus_messages(CASE)
    agent = create_agent(
        _chat(stub), tools=[query_dataset], middleware=[HeadroomMiddleware(retrieve_tool=False)]
    )
    agent.invoke({"messages": messages})
    sent = stub.bodies[-1]
    assert "[headroom: " in str(sent["messages"]) and "headroom_retrieve" not in str(sent)


@pytest.mark.parametrize(
    ("mode", "bind", "offered"),
    [("never", True, False), ("always", False, True), ("auto", False, False), ("auto", True, True)],
)
def test_retrieve_tool_modes(stub: _Stub, mode: str, bind: bool, offered: bool) -> None:
    messages, _ = corpus_messages(CASE)
    llm: Any = HeadroomChatModel(_chat(stub), store=InMemoryStore(), retrieve_tool=mode)
    (llm.bind_tools([query_dataset]) if bind else llm).invoke(messages)
    sent = stub.bodies[-1]
    names = [t["function"]["name"] for t in sent.get("tools", [])]
    assert ("headroom_retrieve" in names) is offered
    # markers name the call exactly when the tool is offered
    assert ("headroom_retrieve(hash=" in json.dumps(sent["messages"])) is offered


def test_middleware_compresses_large_async_requests_off_the_event_loop() -> None:
    from langchain.agents import create_agent

    from headroom.integrations.langchain import HeadroomMiddleware
    from tests.integrations.langchain.fakes import RecordingChatModel

    messages, _ = corpus_messages(CASE)
    threads: list[threading.Thread] = []

    class Spy(CompressionHooks):
        def pre_compress(self, messages: Any, context: Any) -> Any:
            threads.append(threading.current_thread())
            return messages

    agent = create_agent(
        RecordingChatModel(responses=["ok"]), tools=[], middleware=[HeadroomMiddleware(hooks=Spy())]
    )

    async def run() -> threading.Thread:
        await agent.ainvoke({"messages": messages})
        return threading.current_thread()

    loop_thread = asyncio.run(run())
    assert threads and all(t is not loop_thread for t in threads)


def test_a_retrieve_call_made_after_the_limit_is_dropped(stub: _Stub) -> None:
    messages, _ = corpus_messages(CASE)
    h = _hash(messages)
    # the stub keeps calling headroom_retrieve, offered or not
    script = [_retrieve(h, "r1"), _retrieve(h, "r2", text="Still checking.")]
    llm = HeadroomChatModel(_chat(stub), store=InMemoryStore(), max_retrieve_rounds=1)
    bound = llm.bind_tools([query_dataset])
    stub.replies = script
    invoked = bound.invoke(messages)
    assert [t["function"]["name"] for t in stub.bodies[-1]["tools"]] == ["query_dataset"]
    assert invoked.tool_calls == [] and invoked.content == "Still checking."
    stub.bodies.clear()
    merged = _merge(list(bound.stream(messages)))
    assert merged.tool_calls == [] and merged.tool_call_chunks == []
    _same_reply(invoked, merged)


@pytest.mark.parametrize("name", ["headroom_retrieve", "docs__headroom_retrieve"])
def test_a_users_own_retrieve_tool_is_theirs(stub: _Stub, name: str) -> None:
    from langchain_core.tools import StructuredTool

    messages, _ = corpus_messages(CASE)
    own = StructuredTool.from_function(lambda hash: "mine", name=name, description="Their tool.")
    stub.replies = [{"tool_calls": [{"id": "u1", "name": name, "args": {"hash": "x"}}]}]
    reply = HeadroomChatModel(_chat(stub), store=InMemoryStore()).bind_tools([own]).invoke(messages)
    assert len(stub.bodies) == 1
    assert [t["function"]["name"] for t in stub.bodies[0]["tools"]] == [name]
    assert [c["name"] for c in reply.tool_calls] == [name]  # handed to the caller, unanswered


def test_generate_offers_the_tool_only_to_the_list_with_markers(stub: _Stub) -> None:
    from langchain_core.utils.function_calling import convert_to_openai_tool

    messages, _ = corpus_messages(CASE)
    llm = HeadroomChatModel(_chat(stub), store=InMemoryStore())
    tools = [convert_to_openai_tool(query_dataset)]
    llm.generate([messages, [HumanMessage("hi")]], tools=tools)
    names = [[t["function"]["name"] for t in body["tools"]] for body in stub.bodies]
    assert names == [["query_dataset", "headroom_retrieve"], ["query_dataset"]]
