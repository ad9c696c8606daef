"""HeadroomChatModel around a real ChatOpenAI talking to a local stub of the API.

What the provider actually received is read from the HTTP request bodies, so
these tests see the formatting `langchain-openai` itself produces (tools,
`response_format`, streaming flags) after compression.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel

from headroom import InMemoryStore
from headroom.integrations.langchain import HeadroomChatModel
from tests.conftest import needle_present
from tests.integrations.langchain.conftest import corpus_messages

openai_chat = pytest.importorskip("langchain_openai")


class _Stub:
    """Scripted replies in order (the last repeats) and every request body received."""

    def __init__(self) -> None:
        self.replies: list[dict[str, Any]] = [{"content": "ok"}]
        self.bodies: list[dict[str, Any]] = []
        self.url = ""

    def next_reply(self) -> dict[str, Any]:
        index = min(len(self.bodies) - 1, len(self.replies) - 1)
        return self.replies[index]


def _completion(reply: dict[str, Any]) -> dict[str, Any]:
    message = {"role": "assistant", "content": reply.get("content")}
    if reply.get("tool_calls"):
        message["tool_calls"] = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c["args"])},
            }
            for c in reply["tool_calls"]
        ]
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
    }


def _chunks(reply: dict[str, Any]) -> Iterator[dict[str, Any]]:
    base = {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "gpt-4o-2024-08-06",
    }
    yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    for word in re.findall(r"\S+\s*", reply.get("content") or ""):
        yield {**base, "choices": [{"index": 0, "delta": {"content": word}}]}
    for i, call in enumerate(reply.get("tool_calls") or []):
        delta = {
            "index": i,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call["args"])},
        }
        yield {**base, "choices": [{"index": 0, "delta": {"tool_calls": [delta]}}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    usage = {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}
    yield {**base, "choices": [], "usage": usage}


@pytest.fixture
def stub() -> Iterator[_Stub]:
    state = _Stub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.bodies.append(body)
            reply = state.next_reply()
            if body.get("stream"):
                payload = "".join(f"data: {json.dumps(c)}\n\n" for c in _chunks(reply))
                data = (payload + "data: [DONE]\n\n").encode()
                content_type = "text/event-stream"
            else:
                data = json.dumps(_completion(reply)).encode()
                content_type = "application/json"
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _chat(stub: _Stub) -> Any:
    return openai_chat.ChatOpenAI(
        model="gpt-4o", api_key="sk-test", base_url=stub.url, max_retries=0, timeout=10
    )


def _marker_hash(messages: Any) -> Any:
    found = re.search(r'headroom_retrieve\(hash=\\"([0-9a-f]{16})\\"\)', json.dumps(messages))
    assert found
    return found


def test_invoke_sends_compressed_openai_request(stub: _Stub) -> None:
    messages, data = corpus_messages("p-logs-openssh")
    llm = HeadroomChatModel(_chat(stub))
    reply = llm.invoke(messages)
    sent = stub.bodies[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool"]
    assert sent[2]["tool_calls"][0]["id"] == sent[3]["tool_call_id"]
    assert len(sent[3]["content"]) < len(str(messages[-1].content)) / 2
    assert sent[1]["content"] == messages[1].content
    assert all(needle_present(n, sent) for n in data["needles"])
    assert reply.response_metadata["headroom"]["tokens_saved"] > 0
    assert reply.response_metadata["model_name"] == "gpt-4o-2024-08-06"
    assert reply.usage_metadata is not None and reply.usage_metadata["total_tokens"] == 14
    params = llm._get_ls_params()
    assert (params["ls_provider"], params["ls_model_name"]) == ("openai", "gpt-4o")


def test_stream_goes_through_the_openai_stream(stub: _Stub) -> None:
    messages, _ = corpus_messages("p-logs-openssh")
    stub.replies = [{"content": "Two error lines."}]
    llm = HeadroomChatModel(_chat(stub))
    merged: Any = None
    for chunk in llm.stream(messages):
        merged = chunk if merged is None else merged + chunk
    assert stub.bodies[-1]["stream"] is True
    assert merged.content == "Two error lines."
    assert merged.response_metadata["headroom"]["tokens_saved"] > 0


def test_bind_tools_formatted_by_chatopenai(stub: _Stub) -> None:
    @tool
    def read_logs(source: str, limit: int = 100) -> str:
        """Read a log."""
        return source

    chat = _chat(stub)
    direct = chat.bind_tools([read_logs], tool_choice="read_logs", strict=True)
    HeadroomChatModel(chat).bind_tools([read_logs], tool_choice="read_logs", strict=True).invoke(
        "read it"
    )
    body = stub.bodies[-1]
    assert body["tools"] == direct.kwargs["tools"]  # type: ignore[attr-defined]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "read_logs"}}


class _Finding(BaseModel):
    """What the log shows."""

    severity: str
    count: int


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # inside ChatOpenAI's parser
@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_structured_output_keeps_chatopenai_method(stub: _Stub, method: str) -> None:
    payload = {"severity": "error", "count": 2}
    if method == "function_calling":
        stub.replies = [{"tool_calls": [{"id": "c1", "name": "_Finding", "args": payload}]}]
    else:
        stub.replies = [{"content": json.dumps(payload)}]
    messages, _ = corpus_messages("p-logs-openssh")
    llm = HeadroomChatModel(_chat(stub))
    result = llm.with_structured_output(_Finding, method=method).invoke(messages)  # type: ignore[arg-type]
    assert result == _Finding(**payload)
    body = stub.bodies[-1]
    if method == "json_schema":
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["name"] == "_Finding"
    elif method == "json_mode":
        assert body["response_format"] == {"type": "json_object"}
    else:
        assert [t["function"]["name"] for t in body["tools"]] == ["_Finding"]
        assert "response_format" not in body
    assert len(body["messages"][-1]["content"]) < len(str(messages[-1].content)) / 2


def test_ccr_round_trip_over_http(stub: _Stub) -> None:
    store = InMemoryStore()
    messages, _ = corpus_messages("p-json-cars-hp")
    llm = HeadroomChatModel(_chat(stub), store=store)

    @tool
    def query_dataset(q: str) -> str:
        """Query the dataset."""
        return q

    bound = llm.bind_tools([query_dataset])
    bound.invoke(messages)  # learn the marker the request will carry
    found = _marker_hash(stub.bodies[-1]["messages"])
    stub.bodies.clear()
    stub.replies = [
        {
            "tool_calls": [
                {"id": "r1", "name": "headroom_retrieve", "args": {"hash": found.group(1)}}
            ]
        },
        {"content": "The most powerful car is listed."},
    ]
    reply = bound.invoke(messages)
    assert reply.content == "The most powerful car is listed."
    assert len(stub.bodies) == 2
    first, second = stub.bodies
    assert [t["function"]["name"] for t in first["tools"]] == ["query_dataset", "headroom_retrieve"]
    answered = second["messages"][-1]
    assert answered["role"] == "tool" and answered["tool_call_id"] == "r1"
    original = next(m for m in messages if isinstance(m, ToolMessage)).content
    assert answered["content"] == original
    assert reply.usage_metadata is not None and reply.usage_metadata["total_tokens"] == 28


def test_create_agent_uses_the_providers_structured_output_through_the_wrapper(
    stub: _Stub,
) -> None:
    from langchain.agents import create_agent
    from langchain_core.messages import HumanMessage

    stub.replies = [{"content": json.dumps({"severity": "error", "count": 2})}]
    llm = HeadroomChatModel(_chat(stub))
    assert llm.profile is not None and llm.profile.get("structured_output") is True
    agent = create_agent(llm, tools=[], response_format=_Finding)
    state = agent.invoke({"messages": [HumanMessage("Classify the log.")]})
    assert state["structured_response"] == _Finding(severity="error", count=2)
    assert stub.bodies[-1]["response_format"]["type"] == "json_schema"  # ProviderStrategy


def test_ccr_round_trip_while_streaming_over_http(stub: _Stub) -> None:
    messages, _ = corpus_messages("p-json-cars-hp")
    llm = HeadroomChatModel(_chat(stub), store=InMemoryStore())
    llm.invoke(messages)
    assert "headroom_retrieve" not in json.dumps(stub.bodies[-1])  # no tool offered, none named
    found = re.search(
        r"([0-9a-f]{16})", llm.invoke(messages).response_metadata["headroom"]["ccr_hashes"][0]
    )
    stub.bodies.clear()
    stub.replies = [
        {
            "content": "Let me check. ",
            "tool_calls": [
                {"id": "r1", "name": "headroom_retrieve", "args": {"hash": found.group(1)}}
            ],
        },
        {"content": "It is the Pontiac."},
    ]

    @tool
    def query_dataset(q: str) -> str:
        """Query the dataset."""
        return q

    merged: Any = None
    for chunk in llm.bind_tools([query_dataset]).stream(messages):
        assert all(c.get("name") != "headroom_retrieve" for c in chunk.tool_call_chunks)
        merged = chunk if merged is None else merged + chunk
    assert [b["stream"] for b in stub.bodies] == [True, True]
    assert stub.bodies[1]["messages"][-1]["role"] == "tool"
    assert merged.content == "It is the Pontiac."  # round 1 is never shown
    assert merged.tool_calls == []
    assert merged.response_metadata["headroom"]["retrieval_rounds"] == 1
    assert merged.usage_metadata["total_tokens"] == 28  # both rounds
