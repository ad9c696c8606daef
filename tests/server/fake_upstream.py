"""A stand-in for OpenAI and Anthropic on 127.0.0.1 that records what it received.

When offered ``headroom_retrieve`` and not yet answered, the fake model calls it
with the first hash named in a marker; otherwise it answers with plain text.
Streaming requests get three SSE events, spaced in time.

Misbehaviour is chosen by the request's ``model`` (OpenAI chat route):
``cut`` drops the connection mid-response, ``stall`` stops sending after the
first bytes, ``truncate`` announces a longer body than it sends, ``greedy``
calls ``headroom_retrieve`` on every turn unless ``tool_choice`` is ``none``,
``stubborn`` calls it on every turn whatever it was offered or told.
Every response reports ``usage`` so tests can check sums over rounds.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MARKER_HASH = re.compile(r'headroom_retrieve\(hash=\\?"([0-9a-f]{12,24})')
STREAM_GAP = 0.3


USAGE = {"prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107}
ANTHROPIC_USAGE = {"input_tokens": 100, "output_tokens": 7}
STALL_SECONDS = 30.0


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes = b""


class _Broken:
    """A raw ASGI response that misbehaves at the HTTP level."""

    def __init__(self, kind: str, stream: bool) -> None:
        self.kind = kind
        self.stream = stream

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        first = (
            _chunk({"role": "assistant", "content": "half"})
            if self.stream
            else '{"id": "chatcmpl-1", "choices": [{"index": 0, "message": {"role": '
        ).encode()
        headers = [(b"content-type", b"text/event-stream" if self.stream else b"application/json")]
        if self.kind == "truncate":
            headers.append((b"content-length", str(len(first) * 4).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": first, "more_body": True})
        if self.kind == "stall":
            await asyncio.sleep(STALL_SECONDS)
        elif self.kind == "truncate":
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            raise RuntimeError("fake upstream drops the connection")


@dataclass
class FakeUpstream:
    calls: list[Call] = field(default_factory=list)

    def _offered(self, body: dict[str, Any]) -> bool:
        if body.get("tool_choice") in ("none", {"type": "none"}):
            return False  # told to answer without calling tools
        return "headroom_retrieve" in json.dumps(body.get("tools", []))

    def _hash(self, conversation: Any) -> str | None:
        found = MARKER_HASH.search(json.dumps(conversation))
        return found.group(1) if found else None

    async def _record(self, request: Request) -> Any:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        self.calls.append(Call(request.url.path, dict(request.headers), body, raw))
        return body

    async def _sse(self, events: list[str]) -> StreamingResponse:
        async def gen() -> Any:
            for i, event in enumerate(events):
                if i and "part" in event:  # the answer's pieces arrive spaced in time
                    await asyncio.sleep(STREAM_GAP)
                yield event.encode()

        return StreamingResponse(gen(), media_type="text/event-stream")

    async def chat(self, request: Request) -> Any:
        body = await self._record(request)
        if not isinstance(body, dict):
            return JSONResponse({"error": {"message": "not JSON"}}, status_code=400)
        if body.get("model") in ("cut", "stall", "truncate"):
            return _Broken(body["model"], body.get("stream") is True)
        if body.get("model") == "stubborn" or (
            body.get("model") == "greedy" and body.get("tool_choice") != "none"
        ):
            return self._greedy(body)
        if body.get("model") == "slow":
            await asyncio.sleep(3)
        if body.get("model") == "notools" and "tools" in body:
            return JSONResponse(
                {"error": {"message": "this model does not support tools"}}, status_code=400
            )
        if body.get("model") == "bad":
            return JSONResponse({"error": {"message": "no such model"}}, status_code=400)
        if body.get("stream"):
            return await self._sse(
                openai_stream(body, self._offered(body), self._hash(body["messages"]))
            )
        messages = body["messages"]
        answered = any(
            m.get("role") == "tool" and m.get("tool_call_id") == "call_hr_1" for m in messages
        )
        h = self._hash(messages)
        if self._offered(body) and h and not answered:
            call = {
                "id": "call_hr_1",
                "type": "function",
                "function": {"name": "headroom_retrieve", "arguments": json.dumps({"hash": h})},
            }
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
        else:
            message = {"role": "assistant", "content": "final answer"}
        return JSONResponse(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": USAGE,
            }
        )

    def _greedy(self, body: dict[str, Any]) -> Response:
        """Asks for a retrieval on every turn, as a model that never has enough would."""
        h = self._hash(body["messages"]) or "0123456789abcdef"
        n = sum(1 for m in body["messages"] if m.get("role") == "tool")
        call = {
            "id": f"call_greedy_{n}",
            "type": "function",
            "function": {"name": "headroom_retrieve", "arguments": json.dumps({"hash": h})},
        }
        if body.get("stream"):
            events = [
                _chunk({"role": "assistant", "content": None}),
                _chunk({"tool_calls": [{**call, "index": 0}]}),
                _chunk({}, "tool_calls"),
                f"data: {json.dumps({'id': 'c', 'object': 'chat.completion.chunk', 'created': 1, 'model': 'fake', 'choices': [], 'usage': USAGE})}\n\n",
                "data: [DONE]\n\n",
            ]
            return StreamingResponse(
                iter(e.encode() for e in events), media_type="text/event-stream"
            )
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        return JSONResponse(
            {
                "id": "chatcmpl-g",
                "object": "chat.completion",
                "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
                "usage": USAGE,
            }
        )

    async def messages(self, request: Request) -> Response:
        body = await self._record(request)
        if body.get("stream"):
            return await self._sse(
                anthropic_stream(body, self._offered(body), self._hash(body["messages"]))
            )
        conversation = body["messages"]
        answered = "toolu_hr_1" in json.dumps(conversation[-1])
        h = self._hash(conversation)
        if self._offered(body) and h and not answered:
            content: list[dict[str, Any]] = [
                {"type": "text", "text": "Let me look."},
                {
                    "type": "tool_use",
                    "id": "toolu_hr_1",
                    "name": "headroom_retrieve",
                    "input": {"hash": h},
                },
            ]
        else:
            content = [{"type": "text", "text": "final answer"}]
        return JSONResponse(
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "content": content,
                "stop_reason": "end_turn",
                "usage": ANTHROPIC_USAGE,
            }
        )

    async def responses(self, request: Request) -> Response:
        body = await self._record(request)
        if body.get("stream"):
            return await self._sse(
                [_ev({"type": "response.output_text.delta", "delta": f"part{i}"}) for i in range(3)]
            )
        items = body["input"]
        answered = any(
            isinstance(i, dict)
            and i.get("call_id") == "fc_hr_1"
            and i.get("type") == "function_call_output"
            for i in items
        )
        h = self._hash(items)
        if self._offered(body) and h and not answered:
            output = [
                {
                    "type": "function_call",
                    "call_id": "fc_hr_1",
                    "name": "headroom_retrieve",
                    "arguments": json.dumps({"hash": h}),
                }
            ]
        else:
            output = [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "final answer"}],
                }
            ]
        return JSONResponse({"id": "resp_1", "object": "response", "output": output})

    async def other(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse(
            {"path": request.url.path, "query": request.url.query, "method": request.method}
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/messages", self.messages, methods=["POST"]),
                Route("/v1/responses", self.responses, methods=["POST"]),
                Route("/{rest:path}", self.other, methods=["GET", "POST", "DELETE"]),
            ]
        )


def _ev(data: dict[str, Any]) -> str:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n"


def anthropic_stream(body: dict[str, Any], offered: bool, hash_value: str | None) -> list[str]:
    """Anthropic SSE: a retrieve call (split over two JSON deltas) if offered and unanswered, else text."""
    answered = "toolu_hr_1" in json.dumps(body["messages"][-1])
    start = _ev(
        {
            "type": "message_start",
            "message": {
                "id": "msg_s",
                "role": "assistant",
                "content": [],
                "usage": {"input_tokens": 10},
            },
        }
    )
    text_start = _ev(
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    )
    if offered and hash_value and not answered:
        return [
            start,
            text_start,
            _ev(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": "Let me look."},
                }
            ),
            _ev({"type": "content_block_stop", "index": 0}),
            _ev(
                {
                    "type": "content_block_start",
                    "index": 1,
                    "content_block": {
                        "type": "tool_use",
                        "id": "toolu_hr_1",
                        "name": "headroom_retrieve",
                        "input": {},
                    },
                }
            ),
            _ev(
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": '{"hash": "'},
                }
            ),
            _ev(
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": hash_value + '"}'},
                }
            ),
            _ev({"type": "content_block_stop", "index": 1}),
            _ev(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "tool_use"},
                    "usage": {"output_tokens": 5},
                }
            ),
            _ev({"type": "message_stop"}),
        ]
    return [
        start,
        'event: ping\ndata: {"type": "ping"}\n\n',
        text_start,
        *(
            _ev(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": f"part{i}"},
                }
            )
            for i in range(3)
        ),
        _ev({"type": "content_block_stop", "index": 0}),
        _ev(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 3},
            }
        ),
        _ev({"type": "message_stop"}),
    ]


def _chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "fake",
        "choices": [choice],
    }
    return f"data: {json.dumps(chunk)}\n\n"


def openai_stream(body: dict[str, Any], offered: bool, hash_value: str | None) -> list[str]:
    """OpenAI chunks: a retrieve call (arguments split in two) if offered and unanswered, else text."""
    answered = any(m.get("tool_call_id") == "call_hr_1" for m in body["messages"])
    if offered and hash_value and not answered:
        call = {
            "index": 0,
            "id": "call_hr_1",
            "type": "function",
            "function": {"name": "headroom_retrieve", "arguments": ""},
        }
        return [
            _chunk({"role": "assistant", "content": "Let me look."}),
            _chunk({"tool_calls": [call]}),
            _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"hash": "'}}]}),
            _chunk({"tool_calls": [{"index": 0, "function": {"arguments": hash_value + '"}'}}]}),
            _chunk({}, "tool_calls"),
            "data: [DONE]\n\n",
        ]
    usage = (
        [
            f"data: {json.dumps({'id': 'c', 'object': 'chat.completion.chunk', 'created': 1, 'model': 'fake', 'choices': [], 'usage': USAGE})}\n\n"
        ]
        if (body.get("stream_options") or {}).get("include_usage")
        else []
    )
    return [
        _chunk({"role": "assistant", "content": ""}),
        *(_chunk({"content": f"part{i}"}) for i in range(3)),
        _chunk({}, "stop"),
        *usage,
        "data: [DONE]\n\n",
    ]
