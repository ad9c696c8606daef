"""HeadroomClient around the OpenAI SDK: optimize, audit, simulate, stats and metrics.

    python examples/client_openai.py          # offline: a stand-in model answers
    OPENAI_API_KEY=sk-... python examples/client_openai.py --live

Offline, the real `openai` SDK talks to an in-process stand-in for the API
(`httpx.MockTransport`), which prints how many bytes each request carried and,
when offered `headroom_retrieve`, asks for the original once, so the whole
retrieve round runs. Metrics go to a throwaway SQLite file unless --live.
"""

from __future__ import annotations

import json
import random
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from openai import OpenAI

from headroom import HeadroomClient, OpenAIProvider

MARKER = re.compile(r'headroom_retrieve\(hash=\\?"([0-9a-f]+)')


def stand_in_model(request: httpx.Request) -> httpx.Response:
    """An OpenAI-compatible endpoint: reports the request size, calls retrieve once."""
    body = json.loads(request.content)
    offered = "headroom_retrieve" in json.dumps(body.get("tools", []))
    answered = any(
        m.get("role") == "tool" and m.get("tool_call_id") == "call_r" for m in body["messages"]
    )
    found = MARKER.search(json.dumps(body["messages"]))
    print(f"  [model] received {len(request.content):,} bytes, tools={offered}")
    if offered and found and not answered:
        args = json.dumps({"hash": found.group(1), "query": "score"})
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_r",
                    "type": "function",
                    "function": {"name": "headroom_retrieve", "arguments": args},
                }
            ],
        }
    else:
        message = {"role": "assistant", "content": "The top three are items 17, 204 and 88."}
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-demo",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        },
    )


def conversation() -> list[dict[str, Any]]:
    rng = random.Random(7)
    results = [
        {"id": i, "title": f"Tutorial {i}", "score": rng.randint(0, 1000), "lang": "python"}
        for i in range(400)
    ]
    return [
        {"role": "system", "content": "You are a research assistant."},
        {"role": "user", "content": "Search for Python tutorials"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "search", "arguments": '{"q": "python"}'},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": json.dumps({"results": results}, indent=2),
        },
        {"role": "user", "content": "Which three tutorials have the highest score?"},
    ]


def main() -> None:
    live = "--live" in sys.argv
    if live:
        sdk = OpenAI()
        store_url = None  # the default: a private file under the user data directory
        model = "gpt-4o-mini"
    else:
        http = httpx.Client(transport=httpx.MockTransport(stand_in_model))
        sdk = OpenAI(
            api_key="sk-offline", base_url="https://api.example.invalid/v1", http_client=http
        )
        store_url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'metrics.db'}"
        model = "gpt-4o"

    client = HeadroomClient(
        original_client=sdk, provider=OpenAIProvider(), default_mode="optimize", store_url=store_url
    )
    print("validate_setup:", client.validate_setup()["valid"])

    plan = client.chat.completions.simulate(model=model, messages=conversation())
    savings = (
        f"${plan.estimated_savings:.4f}"
        if plan.estimated_savings is not None
        else f"(no price: {plan.estimated_savings_reason})"
    )
    print(
        f"\nsimulate (no request): {plan.tokens_before:,} -> {plan.tokens_after:,} tokens, "
        f"transforms {plan.transforms}, est. {savings} saved"
    )

    print("\noptimize:")
    response = client.chat.completions.create(model=model, messages=conversation())
    print("  answer:", response.choices[0].message.content)

    print("\naudit (the original bytes go out; savings are only measured):")
    client.chat.completions.create(model=model, messages=conversation(), headroom_mode="audit")

    stats = client.get_stats()
    print(
        "\nsession:",
        {
            k: stats["session"][k]
            for k in ("requests_total", "tokens_saved_total", "retrieve_calls_answered")
        },
    )
    for record in client.get_metrics(limit=5):
        print(
            f"  {record.timestamp:%H:%M:%S} {record.mode:8} {record.model}: "
            f"{record.tokens_input_before:,} -> {record.tokens_input_after:,}"
        )
    summary = client.get_summary()
    print(
        f"stored total: {summary['total_requests']} requests, "
        f"{summary['total_tokens_saved']:,} tokens, ${summary['total_savings_usd']:.4f} saved"
    )


if __name__ == "__main__":
    main()
