"""Ground truth for the tests: what the provider receives.

`FakeProvider` is a LiteLLM `CustomLLM` (provider prefix ``fake/``).
`StubServer` is a real HTTP server on 127.0.0.1 speaking enough of the OpenAI
and Anthropic wire formats for ``openai/...`` and ``anthropic/...`` models with
``api_base`` pointed at it, plus a configurable ``/v1/compress``.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import litellm
from litellm import CustomLLM
from litellm.types.utils import GenericStreamingChunk

__all__ = [
    "FakeProvider",
    "StubServer",
    "marker_hash",
    "retrieve_call_reply",
    "retrieve_first_marker",
]

Reply = dict[str, Any]  # {"content": str} or {"tool_calls": [{"id", "name", "arguments"}]}
Script = Reply | Callable[[list[Any]], Reply]  # a reply, or one computed from the messages received

_HASH = re.compile(r'headroom_retrieve\(hash="([0-9a-f]{16})"\)')


def marker_hash(messages: list[Any]) -> str:
    """The first CCR hash named by a Headroom marker in `messages`."""
    found = _HASH.search(json.dumps(messages).replace('\\"', '"'))
    assert found, "no headroom marker in the request"
    return found.group(1)


def retrieve_first_marker(messages: list[Any]) -> Reply:
    """A model that asks for the original behind the first marker it sees."""
    return retrieve_call_reply(marker_hash(messages))


def retrieve_call_reply(ccr_hash: str, call_id: str = "call_hr_1") -> Reply:
    """A model turn that calls `headroom_retrieve` for `ccr_hash`."""
    return {
        "tool_calls": [
            {
                "id": call_id,
                "name": "headroom_retrieve",
                "arguments": json.dumps({"hash": ccr_hash}),
            }
        ]
    }


class FakeProvider(CustomLLM):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[dict[str, Any]] = []
        self.replies: deque[Script] = deque()

    def _record(self, method: str, messages: Any, optional_params: dict[str, Any]) -> Reply:
        self.requests.append(
            {
                "method": method,
                "messages": copy.deepcopy(messages),
                "tools": copy.deepcopy(optional_params.get("tools")),
            }
        )
        script = self.replies.popleft() if self.replies else {"content": "fake answer"}
        return script(messages) if callable(script) else script

    @staticmethod
    def _response(reply: Reply) -> litellm.ModelResponse:
        calls = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": c["arguments"]},
            }
            for c in reply.get("tool_calls", [])
        ]
        message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
        if calls:
            message["tool_calls"] = calls
        return litellm.ModelResponse(
            model="fake",
            choices=[
                {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
            ],
            usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        )

    def completion(
        self, model: str, messages: list[Any], *args: Any, **kwargs: Any
    ) -> litellm.ModelResponse:
        return self._response(
            self._record("completion", messages, kwargs.get("optional_params") or {})
        )

    async def acompletion(
        self, model: str, messages: list[Any], *args: Any, **kwargs: Any
    ) -> litellm.ModelResponse:
        return self._response(
            self._record("acompletion", messages, kwargs.get("optional_params") or {})
        )

    def _chunk(self, reply: Reply) -> GenericStreamingChunk:
        return GenericStreamingChunk(
            text=reply.get("content") or "",
            is_finished=True,
            finish_reason="stop",
            index=0,
            tool_use=None,
            usage=None,
        )

    def streaming(
        self, model: str, messages: list[Any], *args: Any, **kwargs: Any
    ) -> Iterator[GenericStreamingChunk]:
        yield self._chunk(self._record("streaming", messages, kwargs.get("optional_params") or {}))

    async def astreaming(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
        yield self._chunk(self._record("astreaming", messages, kwargs.get("optional_params") or {}))

    @property
    def last_messages(self) -> list[Any]:
        return self.requests[-1]["messages"]  # type: ignore[no-any-return]


class StubServer:
    """Records every request body; scripted chat replies; `/v1/compress` behaviour is settable."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.replies: deque[Script] = deque()
        self.failures = 0  # the next N chat requests are answered with HTTP 500
        self.compress_delay = 0.0
        self.compress_handler: Callable[[dict[str, Any]], Any] | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def bodies(self, path_suffix: str) -> list[Any]:
        return [body for path, body in self.requests if path.endswith(path_suffix)]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(
                self, status: int, payload: Any, content_type: str = "application/json"
            ) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send(200, {"status": "ok"})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = raw.decode(errors="replace")
                path = self.path.split("?")[0]
                stub.requests.append((path, body))
                if path.endswith("/compress"):
                    time.sleep(stub.compress_delay)
                    if stub.compress_handler is None:
                        self._send(500, {"error": "no compress handler"})
                    else:
                        self._send(200, stub.compress_handler(body))
                elif path.endswith("/embeddings"):
                    inputs = body.get("input") if isinstance(body, dict) else None
                    n = len(inputs) if isinstance(inputs, list) else 1
                    self._send(
                        200,
                        {
                            "object": "list",
                            "data": [
                                {"object": "embedding", "index": i, "embedding": [0.1, 0.2]}
                                for i in range(n)
                            ],
                            "model": "text-embedding-3-small",
                            "usage": {"prompt_tokens": 1, "total_tokens": 1},
                        },
                    )
                elif path.endswith(("/messages", "/chat/completions")) and stub._fail():
                    self._send(500, {"error": {"message": "stub failure", "type": "server_error"}})
                elif path.endswith("/messages"):
                    message = stub._anthropic(body)
                    if isinstance(body, dict) and body.get("stream"):
                        self._send(200, stub._anthropic_sse(message), "text/event-stream")
                    else:
                        self._send(200, message)
                elif path.endswith("/chat/completions"):
                    reply = stub.next_reply(
                        body.get("messages", []) if isinstance(body, dict) else []
                    )
                    if isinstance(body, dict) and body.get("stream"):
                        self._send(200, stub._sse(reply), "text/event-stream")
                    else:
                        self._send(200, stub._chat(reply))
                else:
                    self._send(404, {"error": f"no route {path}"})

        return Handler

    def _fail(self) -> bool:
        with self._lock:
            if self.failures <= 0:
                return False
            self.failures -= 1
            return True

    def next_reply(self, messages: list[Any]) -> Reply:
        script = self.replies.popleft() if self.replies else {"content": "stub answer"}
        return script(messages) if callable(script) else script

    @staticmethod
    def _chat(reply: Reply) -> dict[str, Any]:
        calls = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": c["arguments"]},
            }
            for c in reply.get("tool_calls", [])
        ]
        message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
        if calls:
            message["tool_calls"] = calls
        return {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o",
            "choices": [
                {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    @staticmethod
    def _sse(reply: Reply) -> bytes:
        base = {
            "id": "chatcmpl-stub",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o",
        }
        chunks = [
            {
                **base,
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": reply.get("content") or ""},
                    }
                ],
            },
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ]
        return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"

    @staticmethod
    def _anthropic_sse(message: dict[str, Any]) -> bytes:
        text = "".join(b.get("text", "") for b in message["content"] if b["type"] == "text")
        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": 1, "output_tokens": 0},
        }
        events = [
            ("message_start", {"type": "message_start", "message": start}),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": text},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 1},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return b"".join(
            f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
        )

    def _anthropic(self, body: Any) -> dict[str, Any]:
        reply = self.next_reply(body.get("messages", []) if isinstance(body, dict) else [])
        content: list[dict[str, Any]] = []
        if reply.get("content"):
            content.append({"type": "text", "text": reply["content"]})
        for c in reply.get("tool_calls", []):
            content.append(
                {
                    "type": "tool_use",
                    "id": c["id"],
                    "name": c["name"],
                    "input": json.loads(c["arguments"]),
                }
            )
        return {
            "id": "msg_stub",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "claude") if isinstance(body, dict) else "claude",
            "content": content,
            "stop_reason": "tool_use" if reply.get("tool_calls") else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
