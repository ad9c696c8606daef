"""HeadroomCallback on LiteLLM's SDK: acompletion, the Router, and the sync wrapper.

    python examples/litellm_callback.py

Offline by default: LiteLLM answers with `mock_response` (the callback still
compresses the request; LiteLLM's hooks run before the mock). With
OPENAI_API_KEY set it calls gpt-4o-mini for real.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no cost-map download

import asyncio
import json
from importlib import resources
from typing import Any

import litellm

from headroom.integrations.litellm import HeadroomCallback, completion

MODEL = "gpt-4o-mini"


def _offline() -> dict[str, Any]:
    return {} if os.environ.get("OPENAI_API_KEY") else {"mock_response": "(offline: mock answer)"}


def _messages() -> list[dict[str, Any]]:
    sample = resources.files("headroom").joinpath("demo_data/p-logs-openssh.json")
    return json.loads(sample.read_text(encoding="utf-8"))["messages"]  # type: ignore[no-any-return]


async def main() -> None:
    callback = HeadroomCallback(min_tokens=500)
    litellm.callbacks = [callback]
    messages = _messages()

    # Async SDK calls and the Router: the callback compresses in LiteLLM's deployment hook.
    response = await litellm.acompletion(model=MODEL, messages=messages, **_offline())
    print("acompletion:", response.choices[0].message.content[:200])
    print(f"  tokens saved so far: {callback.total_tokens_saved}")

    router = litellm.Router(
        model_list=[{"model_name": "ops", "litellm_params": {"model": MODEL, **_offline()}}]
    )
    response = await router.acompletion(model="ops", messages=messages)
    print("Router.acompletion:", response.choices[0].message.content[:200])
    print(f"  tokens saved so far: {callback.total_tokens_saved}")

    # Sync calls: litellm.completion(...) is compressed by the same callback; the wrapper
    # also answers headroom_retrieve (no agentic loop runs on sync calls).
    response = completion(model=MODEL, messages=messages, **_offline())
    print("sync wrapper:", response.choices[0].message.content[:200])
    print(f"  tokens saved so far: {callback.total_tokens_saved}")

    # What the provider receives, without sending anything:
    request = callback.compress_request({"model": MODEL, "messages": messages}, add_tool=True)
    assert request is not None
    stats = request["metadata"]["headroom"]
    print(
        f"one request: {stats['tokens_before']} -> {stats['tokens_after']} tokens, {stats['transforms_applied']}"
    )
    print("tools offered to the model:", [t["function"]["name"] for t in request.get("tools", [])])


if __name__ == "__main__":
    asyncio.run(main())
