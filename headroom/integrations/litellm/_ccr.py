"""Answering a model's `headroom_retrieve` calls inside LiteLLM's agentic loop.

LiteLLM hands the callback the provider's response; these helpers find the
retrieve calls in it (chat-completions or Anthropic Messages shape), answer
them from the CCR store and build the follow-up turn LiteLLM sends back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from headroom.core import RETRIEVE_TOOL_NAME, CCRStore, handle_retrieve_call
from headroom.core.ccr import parse_retrieve_arguments

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


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def retrieve_calls(response: Any) -> list[RetrieveCall]:
    """The `headroom_retrieve` calls in a chat or Anthropic Messages response."""
    calls: list[RetrieveCall] = []
    content = _get(response, "content")
    if isinstance(content, list):  # Anthropic Messages
        for block in content:
            if _get(block, "type") == "tool_use" and _get(block, "name") == RETRIEVE_TOOL_NAME:
                calls.append(
                    {
                        "id": _get(block, "id"),
                        "arguments": parse_retrieve_arguments(_get(block, "input")),
                        "shape": "anthropic",
                    }
                )
        return calls
    for choice in _get(response, "choices") or []:
        message = _get(choice, "message")
        for call in _get(message, "tool_calls") or []:
            fn = _get(call, "function")
            if _get(fn, "name") == RETRIEVE_TOOL_NAME:
                calls.append(
                    {
                        "id": _get(call, "id"),
                        "arguments": parse_retrieve_arguments(_get(fn, "arguments")),
                        "shape": "openai",
                    }
                )
        break
    return calls


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


def _assistant_text(response: Any) -> str:
    content = _get(response, "content")
    if isinstance(content, list):
        return "".join(str(_get(b, "text") or "") for b in content if _get(b, "type") == "text")
    for choice in _get(response, "choices") or []:
        text = _get(_get(choice, "message"), "content")
        return text if isinstance(text, str) else ""
    return ""


def followup_messages(
    response: Any, sent: Sequence[Any], answers: Sequence[tuple[RetrieveCall, str]]
) -> list[Any]:
    """The sent messages plus the model's retrieve calls and their answers.

    Only the retrieve calls are echoed: any other tool call of that turn would
    have no result, and the model re-plans it once it has the original.
    """
    text = _assistant_text(response)
    if answers and answers[0][0]["shape"] == "anthropic":
        assistant = {
            "role": "assistant",
            "content": ([{"type": "text", "text": text}] if text else [])
            + [
                {
                    "type": "tool_use",
                    "id": call["id"],
                    "name": RETRIEVE_TOOL_NAME,
                    "input": call["arguments"],
                }
                for call, _ in answers
            ],
        }
        results = {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call["id"], "content": answer}
                for call, answer in answers
            ],
        }
        return [*sent, assistant, results]
    chat_assistant: dict[str, Any] = {
        "role": "assistant",
        "content": text or None,
        "tool_calls": [
            {
                "id": call["id"],
                "type": "function",
                "function": {
                    "name": RETRIEVE_TOOL_NAME,
                    "arguments": json.dumps(call["arguments"]),
                },
            }
            for call, _ in answers
        ],
    }
    tool_messages = [
        {"role": "tool", "tool_call_id": call["id"], "content": answer} for call, answer in answers
    ]
    return [*sent, chat_assistant, *tool_messages]
