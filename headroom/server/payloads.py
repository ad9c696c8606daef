"""Which request bodies carry a conversation, and how to compress one in place.

Shared by the proxy and `headroom.integrations.asgi.CompressionMiddleware`;
this module imports no web framework. Provider knowledge lives in the route
table: the path, the field holding the conversation, and the upstream API.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from headroom.core.compress import compress
from headroom.core.config import CompressConfig
from headroom.core.hooks import CompressionHooks
from headroom.core.result import CompressionResult
from headroom.core.store import CCRStore
from headroom.core.tokens import TokenCounter

__all__ = [
    "CHAT_ROUTES",
    "ChatRoute",
    "compress_body",
    "dumps",
    "responses_to_chat",
    "write_back_responses",
]

Api = Literal["openai_chat", "anthropic_messages", "openai_responses"]


@dataclass(frozen=True)
class ChatRoute:
    """A POST route whose body holds a conversation.

    Attributes:
        api: The wire format (picks the retrieve-tool shape and follow-up turns).
        field: The body key holding the conversation.
        upstream: Which configured upstream serves it: ``openai`` or ``anthropic``.
    """

    api: Api
    field: str
    upstream: Literal["openai", "anthropic"]


CHAT_ROUTES: dict[str, ChatRoute] = {
    "/v1/chat/completions": ChatRoute("openai_chat", "messages", "openai"),
    "/chat/completions": ChatRoute("openai_chat", "messages", "openai"),
    "/v1/messages": ChatRoute("anthropic_messages", "messages", "anthropic"),
    "/v1/responses": ChatRoute("openai_responses", "input", "openai"),
}

_TEXT_PARTS = ("input_text", "output_text", "text")


def responses_to_chat(items: list[Any]) -> list[dict[str, Any]]:
    """One chat message per Responses API input item, so the core can read them.

    Function calls become assistant ``tool_calls`` and their outputs ``tool``
    messages; items the core has no use for become empty assistant turns that
    `write_back_responses` leaves untouched.
    """
    out: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            out.append({"role": "assistant", "content": ""})
            continue
        kind = item.get("type", "message")
        if kind == "message" and isinstance(item.get("role"), str):
            role = "system" if item["role"] == "developer" else item["role"]
            content = item.get("content")
            if isinstance(content, list):
                content = [
                    {"type": "text", "text": p["text"]}
                    if isinstance(p, dict)
                    and p.get("type") in _TEXT_PARTS
                    and isinstance(p.get("text"), str)
                    else p
                    for p in content
                ]
            out.append({"role": role, "content": content})
        elif kind == "function_call":
            out.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": str(item.get("call_id", "")),
                            "type": "function",
                            "function": {
                                "name": str(item.get("name", "")),
                                "arguments": str(item.get("arguments", "")),
                            },
                        }
                    ],
                }
            )
        elif kind == "function_call_output" and isinstance(item.get("output"), str):
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": str(item.get("call_id", "")),
                    "content": item["output"],
                }
            )
        else:
            out.append({"role": "assistant", "content": ""})
    return out


def write_back_responses(items: list[Any], compressed: list[dict[str, Any]]) -> list[Any]:
    """Copy compressed text from `compressed` (see `responses_to_chat`) into `items`."""
    out: list[Any] = []
    for item, new in zip(items, compressed, strict=False):
        if not isinstance(item, dict):
            out.append(item)
            continue
        kind = item.get("type", "message")
        if kind == "function_call_output" and isinstance(item.get("output"), str):
            out.append({**item, "output": new.get("content")})
        elif kind == "message" and isinstance(item.get("role"), str):
            out.append(
                {
                    **item,
                    "content": _write_back_content(
                        item.get("content"), new.get("content"), item["role"]
                    ),
                }
            )
        else:
            out.append(item)
    return out


def _write_back_content(original: Any, new: Any, role: str) -> Any:
    if not isinstance(original, list) or not isinstance(new, list):
        return new
    part_type = "output_text" if role == "assistant" else "input_text"
    parts: list[Any] = []
    for i, part in enumerate(new):
        if i < len(original):
            old = original[i]
            if isinstance(old, dict) and old.get("type") in _TEXT_PARTS and isinstance(part, dict):
                parts.append({**old, "text": part.get("text", old.get("text"))})
            else:
                parts.append(old)
        elif isinstance(part, dict) and part.get("type") == "text":
            parts.append({"type": part_type, "text": part.get("text", "")})  # e.g. a recall block
        else:
            parts.append(part)
    return parts


def compress_body(
    route: ChatRoute,
    body: dict[str, Any],
    *,
    config: CompressConfig | None = None,
    store: CCRStore | None = None,
    default_model: str = "gpt-4o",
    hooks: CompressionHooks | None = None,
    counter: Callable[[str], TokenCounter] | None = None,
) -> tuple[dict[str, Any], CompressionResult | None]:
    """A copy of `body` with its conversation compressed, and the result.

    Returns ``(body, None)`` unchanged when the body holds no conversation the
    core can read (e.g. a Responses ``input`` given as one string). `counter`,
    when given, makes the token counter for the body's model.

    Raises:
        ValidationError: the conversation is not a list of role-carrying dicts.
    """
    conversation = body.get(route.field)
    if not isinstance(conversation, list) or not conversation:
        return body, None
    raw_model = body.get("model")
    model = raw_model if isinstance(raw_model, str) and raw_model else default_model
    options: dict[str, Any] = {"model": model, "config": config, "store": store, "hooks": hooks}
    if counter is not None:
        options["token_counter"] = counter(model)
    if route.api == "openai_responses":
        chat = responses_to_chat(conversation)
        result = compress(chat, **options)
        new_conversation: list[Any] = write_back_responses(conversation, result.messages)
    else:
        result = compress(conversation, **options)
        new_conversation = result.messages
    if new_conversation is conversation or new_conversation == conversation:
        return body, result
    new_body = dict(body)
    new_body[route.field] = new_conversation
    return new_body, result


def dumps(body: dict[str, Any]) -> bytes:
    """Compact JSON bytes of a body about to be sent on."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
