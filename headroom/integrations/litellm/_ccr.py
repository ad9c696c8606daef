"""Answering a model's `headroom_retrieve` calls inside LiteLLM's agentic loop.

LiteLLM hands the callback the provider's response and runs the loop itself;
these helpers find the retrieve calls in it and build the follow-up turn with
the core's adapters (`headroom.core.retrieval`, chat-completions or Anthropic
Messages shape), and answer only the hashes this callback issued.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from headroom.core import CCRStore, handle_retrieve_call
from headroom.core.retrieval import RETRIEVE_ADAPTERS
from headroom.core.retrieval import RetrieveCall as CoreCall

__all__ = [
    "RetrieveCall",
    "allowed_calls",
    "answer_calls",
    "followup_messages",
    "refusal",
    "retrieve_calls",
]

RetrieveCall = dict[str, Any]  # {"id": str, "arguments": dict, "shape": "openai" | "anthropic"}

_HASH = re.compile(r"[0-9a-f]{16}")


def _plain(obj: Any) -> Any:
    """LiteLLM's response objects (pydantic models, dicts of them) as plain JSON values."""
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return _plain(dump(exclude_none=True))
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


def _api(data: Any) -> str:
    """The wire format of a response: Anthropic Messages has a content list."""
    anthropic = isinstance(data, dict) and isinstance(data.get("content"), list)
    return "anthropic_messages" if anthropic else "openai_chat"


def retrieve_calls(response: Any) -> list[RetrieveCall]:
    """The `headroom_retrieve` calls in a chat or Anthropic Messages response (core adapters)."""
    data = _plain(response)
    api = _api(data)
    shape = "anthropic" if api == "anthropic_messages" else "openai"
    return [
        {"id": call.id, "arguments": call.arguments, "shape": shape}
        for call in RETRIEVE_ADAPTERS[api].calls(data)
    ]


def _texts(messages: Sequence[Any]) -> str:
    try:
        return json.dumps(list(messages), ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(messages)


def _key(call: RetrieveCall) -> str:
    raw = call["arguments"].get("hash")
    return raw.strip().lower() if isinstance(raw, str) else ""


def allowed_calls(
    calls: Sequence[RetrieveCall], sent: Sequence[Any], issued: Callable[[str], bool]
) -> list[bool]:
    """Per call: is its hash one this callback issued *and* one the sent request names?

    A hash typed into a prompt by someone else is refused: the store may hold
    other requests' originals.
    """
    named = set(_HASH.findall(_texts(sent)))
    return [_key(c) in named and issued(_key(c)) for c in calls]


def refusal(call: RetrieveCall) -> str:
    return f"headroom_retrieve error: hash {_key(call)!r} was not issued for this request"


def answer_calls(
    calls: Sequence[RetrieveCall],
    sent: Sequence[Any],
    issued: Callable[[str], bool],
    store: CCRStore | None,
) -> list[tuple[RetrieveCall, str]]:
    """Answer each allowed call from `store`; refuse the others (see `allowed_calls`)."""
    allowed = allowed_calls(calls, sent, issued)
    return [
        (call, handle_retrieve_call(call["arguments"], store=store) if ok else refusal(call))
        for call, ok in zip(calls, allowed, strict=True)
    ]


def followup_messages(
    response: Any, sent: Sequence[Any], answers: Sequence[tuple[RetrieveCall, str]]
) -> list[Any]:
    """The sent messages plus the model's retrieve calls and their answers (core adapters).

    Only the retrieve calls are echoed: any other tool call of that turn would
    have no result, and the model re-plans it once it has the original.
    """
    data = _plain(response)
    core = [(CoreCall(str(call["id"]), call["arguments"]), text) for call, text in answers]
    body = RETRIEVE_ADAPTERS[_api(data)].follow_up({"messages": list(sent)}, data, core)
    messages: list[Any] = body["messages"]
    return messages
