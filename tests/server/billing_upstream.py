"""A fake provider that reports usage, for the cost, budget and cache tests.

OpenAI chat answers (plain or streamed) and Anthropic messages (plain or
streamed) each carry a ``usage`` block, as real providers send; every request
is counted so a test can tell a cached answer from a fresh one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

OUTPUT_TOKENS = 42


@dataclass
class BillingUpstream:
    bodies: list[dict[str, Any]] = field(default_factory=list)
    fail_next: bool = False

    async def chat(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.bodies.append(body)
        if self.fail_next:
            self.fail_next = False
            return JSONResponse({"error": {"message": "overloaded"}}, status_code=500)
        usage = {"prompt_tokens": 10, "completion_tokens": OUTPUT_TOKENS}
        if body.get("stream"):
            events = [
                {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "fin"}}]},
                {"choices": [{"index": 0, "delta": {"content": "al"}, "finish_reason": "stop"}]},
                {"choices": [], "usage": usage},
            ]
            text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
            return StreamingResponse(iter([text.encode()]), media_type="text/event-stream")
        message = {"role": "assistant", "content": f"answer {len(self.bodies)}"}
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(self.bodies)}",
                "object": "chat.completion",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": usage,
            }
        )

    async def messages(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.bodies.append(body)
        usage = {"input_tokens": 10, "output_tokens": OUTPUT_TOKENS}
        if body.get("stream"):
            events = [
                ("message_start", {"type": "message_start", "message": {"usage": usage}}),
                ("message_delta", {"type": "message_delta", "usage": usage}),
                ("message_stop", {"type": "message_stop"}),
            ]
            text = "".join(f"event: {n}\ndata: {json.dumps(e)}\n\n" for n, e in events)
            return StreamingResponse(iter([text.encode()]), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "content": [{"type": "text", "text": "final answer"}],
                "usage": usage,
            }
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/messages", self.messages, methods=["POST"]),
            ]
        )
