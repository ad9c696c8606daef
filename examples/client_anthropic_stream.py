"""HeadroomClient around the async Anthropic SDK, streaming.

    python examples/client_anthropic_stream.py          # offline stand-in model
    ANTHROPIC_API_KEY=sk-ant-... python examples/client_anthropic_stream.py --live

Offline, the real `anthropic` SDK streams from an in-process stand-in
(`httpx2.MockTransport`) that shows the compressed request's size. Tokens are
printed as they arrive; `messages.stream()` works the same way.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import httpx2 as httpx  # the anthropic SDK (2.x) runs on httpx2
from anthropic import AsyncAnthropic

from headroom import AnthropicProvider, HeadroomClient


def sse(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"


async def stand_in_model(request: httpx.Request) -> httpx.Response:
    print(f"[model] received {len(request.content):,} bytes")
    message = {
        "id": "msg_demo",
        "type": "message",
        "role": "assistant",
        "model": "demo",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0},
    }
    events = [
        sse("message_start", {"message": message}),
        sse("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        *(
            sse("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": w}})
            for w in ["The ", "slowest ", "query ", "is ", "#812."]
        ),
        sse("content_block_stop", {"index": 0}),
        sse("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}),
        sse("message_stop", {}),
    ]
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content="".join(events)
    )


def conversation() -> list[dict[str, Any]]:
    log = "\n".join(
        f"2026-11-30T03:{i // 60:02d}:{i % 60:02d}Z INFO query id={i} took {(i * 37) % 900}ms rows={i % 50}"
        for i in range(1500)
    )
    return [
        {"role": "user", "content": "Fetch the query log."},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "read_log", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": log},
                {"type": "text", "text": "Which query was the slowest?"},
            ],
        },
    ]


async def main() -> None:
    if "--live" in sys.argv:
        sdk, model, store_url = AsyncAnthropic(), "claude-sonnet-4-6", None
    else:
        http = httpx.AsyncClient(transport=httpx.MockTransport(stand_in_model))
        sdk = AsyncAnthropic(
            api_key="sk-offline", base_url="https://api.example.invalid", http_client=http
        )
        model, store_url = "claude-sonnet-4-6", "sqlite:///:memory:"
    client = HeadroomClient(original_client=sdk, provider=AnthropicProvider(), store_url=store_url)

    stream = await client.messages.create(
        model=model, max_tokens=200, messages=conversation(), stream=True
    )
    async for event in stream:
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            print(event.delta.text, end="", flush=True)
    print()
    session = client.get_stats()["session"]
    print(
        f"{session['tokens_input_before_total']:,} -> {session['tokens_input_after_total']:,} input tokens"
    )


if __name__ == "__main__":
    asyncio.run(main())
