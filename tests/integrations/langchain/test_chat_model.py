"""HeadroomChatModel on every BaseChatModel path, checked against what the wrapped model received."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableBinding
from langchain_core.tracers.context import collect_runs
from pydantic import BaseModel

from headroom import CompressConfig, CompressionHooks, InMemoryStore
from headroom.core.hooks import CompressEvent
from headroom.integrations.langchain import HeadroomChatModel
from tests.integrations.langchain.conftest import corpus_messages, needles_in
from tests.integrations.langchain.fakes import NonStreamingChatModel, RecordingChatModel

CASE = "p-logs-openssh"


def _wrapped(
    responses: list[Any] | None = None, **kwargs: Any
) -> tuple[HeadroomChatModel, RecordingChatModel]:
    fake = RecordingChatModel(responses=responses or ["The errors are listed."])
    return HeadroomChatModel(fake, **kwargs), fake


def _sent_size(messages: list[BaseMessage]) -> int:
    return sum(len(str(m.content)) for m in messages)


def test_invoke_sends_compressed_messages_with_needles() -> None:
    messages, data = corpus_messages(CASE)
    llm, fake = _wrapped()
    reply = llm.invoke(messages)
    sent = fake.received[-1]
    assert len(sent) == len(messages)
    assert _sent_size(sent) < _sent_size(messages) / 2
    assert needles_in(sent, data["needles"]) == []
    stats = reply.response_metadata["headroom"]
    assert stats["tokens_saved"] > 0 and stats["tokens_after"] < stats["tokens_before"]
    assert stats["ccr_hashes"] and stats["transforms_applied"]
    assert llm.total_tokens_saved == stats["tokens_saved"]
    assert reply.content == "The errors are listed."


def test_caller_messages_are_not_mutated_and_untouched_ones_are_the_same_objects() -> None:
    messages, _ = corpus_messages(CASE)
    snapshot = [m.model_copy(deep=True) for m in messages]
    llm, fake = _wrapped()
    llm.invoke(messages)
    assert messages == snapshot
    sent = fake.received[-1]
    # the system prompt and the human question reach the model byte for byte
    assert sent[0] == messages[0] and sent[1] == messages[1]
    tool_sent, tool_orig = sent[-1], messages[-1]
    assert isinstance(tool_sent, ToolMessage) and isinstance(tool_orig, ToolMessage)
    assert tool_sent.content != tool_orig.content
    assert (tool_sent.id, tool_sent.tool_call_id, tool_sent.name) == (
        tool_orig.id,
        tool_orig.tool_call_id,
        tool_orig.name,
    )
    assert isinstance(sent[2], AIMessage) and sent[2].tool_calls == messages[2].tool_calls  # type: ignore[union-attr]


def test_stream_yields_chunks_and_sends_compressed() -> None:
    messages, data = corpus_messages(CASE)
    llm, fake = _wrapped(["Two error lines stand out."])
    chunks = list(llm.stream(messages))
    assert len(chunks) > 2 and all(isinstance(c, AIMessageChunk) for c in chunks)
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert merged.content == "Two error lines stand out."
    assert merged.response_metadata["headroom"]["tokens_saved"] > 0
    assert merged.usage_metadata is not None
    assert needles_in(fake.received[-1], data["needles"]) == []
    assert _sent_size(fake.received[-1]) < _sent_size(messages) / 2


def test_stream_of_tool_calls() -> None:
    call = {"name": "read_logs", "args": {"path": "/var/log/auth.log", "lines": 50}, "id": "call_9"}
    llm, _ = _wrapped([AIMessage(content="", tool_calls=[call])])
    merged: Any = None
    for chunk in llm.bind_tools([_read_logs_tool()]).stream("read the log"):
        merged = chunk if merged is None else merged + chunk
    assert merged.tool_calls == [{**call, "type": "tool_call"}]


def test_wrapped_model_without_streaming_still_streams() -> None:
    messages, data = corpus_messages(CASE)
    fake = NonStreamingChatModel(responses=["fallback answer"])
    llm = HeadroomChatModel(fake)
    chunks = list(llm.stream(messages))
    assert [c.content for c in chunks] == ["fallback answer"]
    assert chunks[0].response_metadata["headroom"]["tokens_saved"] > 0
    assert needles_in(fake.received[-1], data["needles"]) == []


async def test_ainvoke_and_astream() -> None:
    messages, data = corpus_messages(CASE)
    llm, fake = _wrapped(["async answer"])
    reply = await llm.ainvoke(messages)
    assert reply.content == "async answer"
    assert needles_in(fake.received[-1], data["needles"]) == []
    chunks = [c async for c in llm.astream(messages)]
    assert "".join(str(c.content) for c in chunks) == "async answer"
    assert fake.received_kwargs[-1].get("async") is True  # the wrapped model's own _astream ran
    assert _sent_size(fake.received[-1]) < _sent_size(messages) / 2


async def test_astream_events_show_the_stream_once() -> None:
    messages, _ = corpus_messages(CASE)
    llm, _ = _wrapped(["one two three"])
    events = [e async for e in llm.astream_events(messages, version="v2")]
    starts = [e for e in events if e["event"] == "on_chat_model_start"]
    streamed = "".join(
        str(e["data"]["chunk"].content) for e in events if e["event"] == "on_chat_model_stream"
    )
    assert len(starts) == 1
    assert streamed == "one two three"
    end = next(e for e in events if e["event"] == "on_chat_model_end")
    assert end["data"]["output"].response_metadata["headroom"]["tokens_saved"] > 0


def test_batch_and_abatch() -> None:
    messages, _ = corpus_messages(CASE)
    llm, fake = _wrapped(["b"])
    replies = llm.batch([messages, "hello"])
    assert [r.content for r in replies] == ["b", "b"]
    assert len(fake.received) == 2
    replies = asyncio.run(llm.abatch([messages, messages]))
    assert len(replies) == 2 and all(
        r.response_metadata["headroom"]["tokens_saved"] > 0 for r in replies
    )


def test_lcel_chain() -> None:
    _, data = corpus_messages(CASE)
    tool_output = data["messages"][-1]["content"]
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are an SRE."), ("human", "{question}\n\n{logs}")]
    )
    fake = RecordingChatModel(responses=["chain answer"])
    chain = (
        prompt
        | HeadroomChatModel(fake, config=CompressConfig(cache_align=False))
        | (lambda m: m.content)
    )
    # pasted logs in the *last* user turn are the question itself, and are never rewritten
    assert chain.invoke({"question": data["question"], "logs": tool_output}) == "chain answer"
    assert fake.received[-1][1].content.startswith(data["question"])


def test_total_tokens_saved_is_shared_and_thread_safe() -> None:
    messages, _ = corpus_messages(CASE)
    llm, _ = _wrapped()
    bound = llm.bind_tools([_read_logs_tool()])
    structured = llm.with_structured_output(_Answer)
    first = llm.invoke(messages).response_metadata["headroom"]["tokens_saved"]
    # with tools bound, markers name headroom_retrieve: a few tokens more
    with_tools = bound.invoke(messages).response_metadata["headroom"]["tokens_saved"]
    threads = [threading.Thread(target=llm.invoke, args=(messages,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert llm.total_tokens_saved == first * 9 + with_tools
    assert llm.total_calls == 10
    assert structured is not None


def test_bind_tools_formats_through_wrapped_model() -> None:
    llm, fake = _wrapped()
    direct = fake.bind_tools([_read_logs_tool()], tool_choice="read_logs")
    wrapped = llm.bind_tools([_read_logs_tool()], tool_choice="read_logs")
    assert isinstance(wrapped, RunnableBinding) and isinstance(direct, RunnableBinding)
    assert wrapped.bound is llm
    assert wrapped.kwargs == direct.kwargs
    wrapped.invoke("hi")
    assert fake.received_kwargs[-1]["tools"] == direct.kwargs["tools"]
    assert fake.received_kwargs[-1]["tool_choice"] == {
        "type": "function",
        "function": {"name": "read_logs"},
    }


class _Answer(BaseModel):
    """An answer with its evidence."""

    answer: str
    evidence: list[str]


@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
def test_with_structured_output_keeps_the_method(method: str) -> None:
    messages, data = corpus_messages(CASE)
    payload = {"answer": "two errors", "evidence": ["a", "b"]}

    def respond(sent: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        if method == "function_calling":
            return AIMessage(
                content="", tool_calls=[{"name": "_Answer", "args": payload, "id": "c1"}]
            )
        import json

        return AIMessage(content=json.dumps(payload))

    fake = RecordingChatModel(responses=[respond])
    llm = HeadroomChatModel(fake)
    result = llm.with_structured_output(_Answer, method=method).invoke(messages)
    assert result == _Answer(**payload)
    direct_kwargs = fake.with_structured_output(_Answer, method=method).first.kwargs  # type: ignore[attr-defined]
    sent_kwargs = fake.received_kwargs[-1]
    for key, value in direct_kwargs.items():
        if key != "ls_structured_output_format":  # consumed by LangChain for tracing
            assert sent_kwargs[key] == value
    assert needles_in(fake.received[-1], data["needles"]) == []
    raw = llm.with_structured_output(_Answer, method=method, include_raw=True).invoke(messages)
    assert raw["parsed"] == _Answer(**payload)
    assert raw["raw"].response_metadata["headroom"]["tokens_saved"] > 0


def test_identity_and_ls_params_are_the_wrapped_models() -> None:
    llm, fake = _wrapped(temperature=0.3, max_tokens=77, stop=["END"])
    params = llm._get_ls_params()
    assert params["ls_provider"] == fake._get_ls_params()["ls_provider"]
    assert params["ls_model_name"] == "recording-fake-1"
    assert params["ls_temperature"] == 0.3 and params["ls_max_tokens"] == 77
    assert params["ls_stop"] == ["END"]
    assert llm._llm_type == "headroom-recording-fake"
    assert llm._identifying_params["wrapped_model"]["model"] == "recording-fake-1"
    assert llm.model_name == "recording-fake-1"
    with collect_runs() as cb:
        llm.invoke("hello")
    run = cb.traced_runs[0]
    assert run.extra["metadata"]["ls_provider"] == params["ls_provider"]
    assert run.extra["metadata"]["headroom"]["tokens_before"] > 0


def test_standard_params_are_forwarded_not_dropped() -> None:
    fake = RecordingChatModel()
    llm = HeadroomChatModel(
        fake, temperature=0.1, max_tokens=5, timeout=9, max_retries=1, stop=["X"]
    )
    assert (llm.wrapped_model.temperature, llm.wrapped_model.max_tokens) == (0.1, 5)  # type: ignore[attr-defined]
    assert llm.wrapped_model.timeout == 9 and llm.wrapped_model.max_retries == 1  # type: ignore[attr-defined]
    assert fake.temperature is None  # the caller's model is not mutated
    llm.invoke("hi")
    assert fake.received_kwargs[-1]["stop"] == ["X"]
    llm.invoke("hi", stop=["Y"])
    assert fake.received_kwargs[-1]["stop"] == ["Y"]

    bare = _Minimal()
    HeadroomChatModel(bare, temperature=0.2, max_tokens=3).invoke("hi")
    # a wrapped model without such fields receives them on every call instead
    assert bare.seen[-1]["temperature"] == 0.2 and bare.seen[-1]["max_tokens"] == 3
    streaming = HeadroomChatModel(fake, streaming=True)
    assert streaming.wrapped_model.streaming is True  # type: ignore[attr-defined]


class _Minimal(BaseChatModel):
    seen: list[dict[str, Any]] = []

    @property
    def _llm_type(self) -> str:
        return "minimal"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        self.seen.append(kwargs)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="m"))])


def test_profile_and_output_version_follow_the_wrapped_model() -> None:
    fake = RecordingChatModel(
        profile={"max_input_tokens": 1234, "tool_calling": True}, output_version="v1"
    )
    llm = HeadroomChatModel(fake)
    assert llm.profile == {"max_input_tokens": 1234, "tool_calling": True}
    assert llm.output_version == "v1"
    reply = llm.invoke("hi")
    assert reply.content == [{"type": "text", "text": "ok"}] or reply.content[0]["text"] == "ok"  # type: ignore[index]


def test_get_num_tokens_is_offline_and_counts_tools() -> None:
    messages, _ = corpus_messages(CASE)
    llm, _ = _wrapped()
    n = llm.get_num_tokens_from_messages(messages)
    assert n > 1000
    assert llm.get_num_tokens_from_messages(messages, tools=[_read_logs_tool()]) > n
    assert (
        HeadroomChatModel(RecordingChatModel(), tokenizer_model="gpt-4o").get_num_tokens(
            "hello world"
        )
        == 2
    )


def test_fail_open_on_core_failure(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(CompressionHooks):
        def protect_messages(self, messages: Any, ctx: Any) -> set[int]:
            raise RuntimeError("boom")

    messages, _ = corpus_messages(CASE)
    llm, fake = _wrapped(hooks=Broken())
    with caplog.at_level(logging.WARNING, logger="headroom"):
        llm.invoke(messages)  # a raising hook is ignored by the core
    assert fake.received[-1]

    import headroom.integrations.langchain.compression as compression

    original = compression.compress

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("core exploded")

    compression.compress = explode  # type: ignore[assignment]
    try:
        with caplog.at_level(logging.WARNING, logger="headroom"):
            reply = llm.invoke(messages)
    finally:
        compression.compress = original
    assert fake.received[-1] == messages
    assert reply.response_metadata["headroom"]["transforms_applied"] == ["fail_open:RuntimeError"]
    assert "compression failed" in caplog.text


def test_hooks_see_what_was_sent() -> None:
    seen: list[CompressEvent] = []

    class Observe(CompressionHooks):
        def post_compress(self, event: CompressEvent) -> None:
            seen.append(event)

    messages, _ = corpus_messages(CASE)
    llm, fake = _wrapped(hooks=Observe())
    llm.invoke(messages)
    assert seen and seen[0].tokens_saved > 0
    assert seen[0].messages[-1]["content"] == fake.received[-1][-1].content


def test_prefix_is_stable_across_agent_turns() -> None:
    messages, _ = corpus_messages("p-mt-ops-1")
    llm, fake = _wrapped()
    cut = len(messages) - 4
    llm.invoke(messages[:cut])
    llm.invoke(messages)
    first, second = fake.received
    # the earlier turns are compressed to the same bytes (the provider's prompt cache keeps hitting)
    last_human = max(i for i, m in enumerate(messages[:cut]) if isinstance(m, HumanMessage))
    for a, b in zip(first[:last_human], second[:last_human], strict=True):
        assert a.content == b.content


def test_system_prompt_with_dates_is_untouched_by_default() -> None:
    messages, _ = corpus_messages(CASE)
    system = SystemMessage(
        content="Today is 2026-11-22 and the request id is 0f8fad5b-d9cb-469f-a165-70867728950e."
    )
    llm, fake = _wrapped()
    llm.invoke([system, *messages[1:]])
    assert fake.received[-1][0] is system
    assert fake.received[-1][1] is messages[1]


def test_ccr_retrieve_loop_is_transparent(store: InMemoryStore) -> None:
    messages, data = corpus_messages("p-json-cars-hp")
    seen_tools: list[list[str]] = []

    def respond(sent: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        seen_tools.append([t["function"]["name"] for t in kwargs.get("tools", [])])
        if isinstance(sent[-1], ToolMessage) and sent[-1].name == "headroom_retrieve":
            return AIMessage(content=f"retrieved {len(sent[-1].content)} chars")
        import re

        marker = re.search(
            r'headroom_retrieve\(hash="([0-9a-f]{16})"\)', "".join(str(m.content) for m in sent)
        )
        assert marker, "a lossy marker is expected in this case"
        return AIMessage(
            content="",
            tool_calls=[
                {"name": "headroom_retrieve", "args": {"hash": marker.group(1)}, "id": "r1"},
                {"name": "query_dataset", "args": {"q": "x"}, "id": "q1"},
            ],
        )

    fake = RecordingChatModel(responses=[respond])
    llm = HeadroomChatModel(fake, store=store).bind_tools([_query_tool()])
    reply = llm.invoke(messages)
    original_size = len(
        data["messages"][-2]["content"] if data["layout"] == "question_last" else ""
    )
    assert reply.content.startswith("retrieved ")
    assert reply.tool_calls == []
    assert reply.response_metadata["headroom"]["retrieval_rounds"] == 1
    assert seen_tools[0] == ["query_dataset", "headroom_retrieve"]
    second = fake.received[-1]
    assert isinstance(second[-2], AIMessage) and [c["name"] for c in second[-2].tool_calls] == [
        "headroom_retrieve"
    ]
    assert (
        isinstance(second[-1], ToolMessage) and "headroom_retrieve error" not in second[-1].content
    )
    assert len(second[-1].content) >= original_size
    assert reply.usage_metadata is not None and reply.usage_metadata["input_tokens"] > 0


def test_ccr_retrieve_loop_when_streaming(store: InMemoryStore) -> None:
    messages, _ = corpus_messages("p-json-cars-hp")

    def respond(sent: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        if isinstance(sent[-1], ToolMessage) and sent[-1].name == "headroom_retrieve":
            return AIMessage(content="final answer")
        import re

        found = re.search(
            r'headroom_retrieve\(hash="([0-9a-f]{16})"\)', "".join(str(m.content) for m in sent)
        )
        assert found
        return AIMessage(
            content="Checking. ",
            tool_calls=[
                {"name": "headroom_retrieve", "args": {"hash": found.group(1)}, "id": "r1"}
            ],
        )

    fake = RecordingChatModel(responses=[respond])
    bound = HeadroomChatModel(fake, store=store).bind_tools([_query_tool()])
    merged: Any = None
    for chunk in bound.stream(messages):
        assert not any(c.get("name") == "headroom_retrieve" for c in chunk.tool_call_chunks)
        merged = chunk if merged is None else merged + chunk
    assert merged.content == "final answer"  # round 1 ("Checking. ") is never shown
    assert merged.tool_calls == []
    assert merged.response_metadata["headroom"]["retrieval_rounds"] == 1
    invoked = HeadroomChatModel(fake, store=store).bind_tools([_query_tool()]).invoke(messages)
    assert invoked.content == merged.content and invoked.tool_calls == merged.tool_calls
    assert invoked.response_metadata["headroom"] == merged.response_metadata["headroom"]


def test_ccr_off_without_tools_and_when_disabled() -> None:
    messages, _ = corpus_messages("p-json-cars-hp")
    llm, fake = _wrapped()
    llm.invoke(messages)
    assert "tools" not in fake.received_kwargs[-1]
    off = HeadroomChatModel(fake, ccr_retrieve=False).bind_tools([_query_tool()])
    off.invoke(messages)
    assert [t["function"]["name"] for t in fake.received_kwargs[-1]["tools"]] == ["query_dataset"]
    on = HeadroomChatModel(fake, ccr_retrieve=True)
    on.invoke(messages)
    assert [t["function"]["name"] for t in fake.received_kwargs[-1]["tools"]] == [
        "headroom_retrieve"
    ]


def _read_logs_tool() -> Any:
    from langchain_core.tools import tool

    @tool
    def read_logs(path: str, lines: int = 100) -> str:
        """Read the last lines of a log file."""
        return f"{lines} lines of {path}"

    return read_logs


def _query_tool() -> Any:
    from langchain_core.tools import tool

    @tool
    def query_dataset(q: str) -> str:
        """Query the dataset."""
        return q

    return query_dataset


def test_the_wrapped_models_cache_and_rate_limiter_are_used() -> None:
    from langchain_core.caches import InMemoryCache
    from langchain_core.rate_limiters import BaseRateLimiter

    class Counting(BaseRateLimiter):
        def __init__(self) -> None:
            self.acquired = 0

        def acquire(self, *, blocking: bool = True) -> bool:
            self.acquired += 1
            return True

        async def aacquire(self, *, blocking: bool = True) -> bool:
            self.acquired += 1
            return True

    messages, _ = corpus_messages(CASE)
    limiter = Counting()
    fake = RecordingChatModel(responses=["cached"], cache=InMemoryCache(), rate_limiter=limiter)
    llm = HeadroomChatModel(fake)
    first = llm.invoke(messages)
    second = llm.invoke(messages)
    assert len(fake.received) == 1  # the second call hit the cache, keyed on what was sent
    assert limiter.acquired == 1
    assert second.content == first.content == "cached"
    assert second.response_metadata["headroom"]["tokens_saved"] > 0
    list(llm.stream(messages))
    assert limiter.acquired == 2


def test_stream_events_v3_with_a_model_that_cannot_stream() -> None:
    call = {"name": "read_logs", "args": {"path": "/var/log/x"}, "id": "c1"}
    fake = NonStreamingChatModel(responses=[AIMessage(content="looking", tool_calls=[call])])
    stream = HeadroomChatModel(fake).stream_events("hi", version="v3")
    events = list(stream)
    assert events
    message = stream.output
    assert message.text == "looking"
    assert [c["name"] for c in message.tool_calls] == ["read_logs"]


def test_retrieve_tool_stays_offered_once_history_holds_a_stub() -> None:
    messages, _ = corpus_messages("p-json-cars-hp")
    llm, fake = _wrapped(["noted"])
    bound = llm.bind_tools([_query_tool()])
    bound.invoke(messages[:2])  # nothing stubbed yet: the tool list is the caller's
    assert [t["function"]["name"] for t in fake.received_kwargs[-1]["tools"]] == ["query_dataset"]
    bound.invoke(messages)
    later = [*messages, AIMessage("noted"), HumanMessage("And the lightest car?")]
    bound.invoke(later)
    first, second = fake.received_kwargs[-2:]
    assert first["tools"] == second["tools"]
    assert [t["function"]["name"] for t in second["tools"]] == [
        "query_dataset",
        "headroom_retrieve",
    ]


def test_callbacks_tags_and_metadata_of_the_wrapped_model_still_report() -> None:
    from langchain_core.callbacks import BaseCallbackHandler

    class Starts(BaseCallbackHandler):
        def __init__(self) -> None:
            self.seen: list[tuple[list[str], dict[str, Any]]] = []

        def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
            self.seen.append((kwargs.get("tags") or [], kwargs.get("metadata") or {}))

    handler = Starts()
    fake = RecordingChatModel(callbacks=[handler], tags=["team-a"], metadata={"app": "ops"})
    HeadroomChatModel(fake).invoke("hi")
    assert len(handler.seen) == 1
    tags, metadata = handler.seen[0]
    assert "team-a" in tags and metadata["app"] == "ops"
