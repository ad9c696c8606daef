"""The core's view of chat messages: plain OpenAI-style or Anthropic dicts.

The core never converts between shapes. It finds the *slots* (pieces of text
a transform may rewrite: a tool output, a user's pasted context) and writes
replacements back into shallow copies, so the caller's objects are never
mutated and everything the core does not touch is passed through as is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from headroom.exceptions import ValidationError

__all__ = [
    "Message",
    "Path",
    "Provider",
    "Slot",
    "SlotKind",
    "append_text",
    "detect_provider",
    "find_slots",
    "message_pieces",
    "message_text_for_counting",
    "replace_slots",
    "text_at",
    "tool_call_index",
    "user_text",
    "validate_messages",
]

Message = dict[str, Any]
Provider = Literal["openai", "anthropic"]
SlotKind = Literal["tool_output", "user_text", "assistant_text", "system_text"]
Path = tuple[str | int, ...]

_ANTHROPIC_BLOCKS = frozenset({"tool_use", "tool_result", "thinking", "redacted_thinking"})
_IMAGE_TOKENS = 765  # a typical 1024px image; images are never rewritten, only counted


@dataclass(frozen=True)
class Slot:
    """One rewritable piece of text and where it lives in the message list."""

    index: int
    path: Path
    text: str
    kind: SlotKind
    tool_name: str | None = None
    tool_args: str | None = None
    tool_call_id: str | None = None


def validate_messages(messages: Any) -> None:
    """Raise `ValidationError` unless `messages` is a list of dicts that each have a role."""
    if not isinstance(messages, Sequence) or isinstance(messages, (str, bytes)):
        raise ValidationError(f"messages must be a list of dicts, got {type(messages).__name__}")
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping):
            raise ValidationError(f"message {i} must be a dict, got {type(m).__name__}")
        if not isinstance(m.get("role"), str):
            raise ValidationError(f"message {i} has no string 'role'")


def detect_provider(messages: Sequence[Mapping[str, Any]], model: str = "") -> Provider:
    """Anthropic when any content block is Anthropic-only (tool_use, tool_result...)."""
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            for block in content:
                if isinstance(block, Mapping) and block.get("type") in _ANTHROPIC_BLOCKS:
                    return "anthropic"
                if (
                    isinstance(block, Mapping)
                    and block.get("type") == "image"
                    and isinstance(block.get("source"), Mapping)
                ):
                    return "anthropic"
        if m.get("tool_calls") or m.get("role") == "tool":
            return "openai"
    return "anthropic" if "claude" in model.lower() else "openai"


def tool_call_index(messages: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
    """Tool-call id -> (tool name, arguments as text), for both shapes."""
    index: dict[str, tuple[str, str]] = {}
    for m in messages:
        for call in m.get("tool_calls") or ():
            if isinstance(call, Mapping):
                fn = call.get("function") or {}
                if isinstance(fn, Mapping) and call.get("id") is not None:
                    index[str(call["id"])] = (
                        str(fn.get("name", "")),
                        _as_text(fn.get("arguments")),
                    )
        content = m.get("content")
        if isinstance(content, list):
            for block in content:
                if isinstance(block, Mapping) and block.get("type") == "tool_use":
                    index[str(block.get("id"))] = (
                        str(block.get("name", "")),
                        _as_text(block.get("input")),
                    )
    return index


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return str(value)


def _text_parts(content: Any, base: Path) -> list[tuple[Path, str]]:
    """Text pieces of a content value: a string, or a list of text parts/blocks."""
    if isinstance(content, str):
        return [(base, content)]
    out: list[tuple[Path, str]] = []
    if isinstance(content, list):
        for j, part in enumerate(content):
            if (
                isinstance(part, Mapping)
                and part.get("type") == "text"
                and isinstance(part.get("text"), str)
            ):
                out.append(((*base, j, "text"), part["text"]))
    return out


def find_slots(messages: Sequence[Mapping[str, Any]]) -> list[Slot]:
    """Every rewritable text slot, in message order."""
    calls = tool_call_index(messages)
    slots: list[Slot] = []
    for i, m in enumerate(messages):
        role = m.get("role")
        content = m.get("content")
        if role in ("tool", "function"):
            call_id = m.get("tool_call_id")
            name, args = calls.get(str(call_id), (str(m.get("name") or ""), ""))
            for path, text in _text_parts(content, ("content",)):
                slots.append(Slot(i, path, text, "tool_output", name or None, args, call_id))
            continue
        if isinstance(content, list):
            for j, block in enumerate(content):
                if not isinstance(block, Mapping):
                    continue
                if block.get("type") == "tool_result":
                    call_id = block.get("tool_use_id")
                    name, args = calls.get(str(call_id), ("", ""))
                    for path, text in _text_parts(block.get("content"), ("content", j, "content")):
                        slots.append(
                            Slot(i, path, text, "tool_output", name or None, args, call_id)
                        )
                elif block.get("type") == "text" and isinstance(block.get("text"), str):
                    slots.append(Slot(i, ("content", j, "text"), block["text"], _text_kind(role)))
        elif isinstance(content, str):
            slots.append(Slot(i, ("content",), content, _text_kind(role)))
    return slots


def _text_kind(role: Any) -> SlotKind:
    if role == "user":
        return "user_text"
    if role in ("system", "developer"):
        return "system_text"
    return "assistant_text"


def user_text(message: Mapping[str, Any]) -> str:
    """The prose a user typed in this message (tool results excluded)."""
    if message.get("role") != "user":
        return ""
    return "\n".join(t for _, t in _text_parts(message.get("content"), ()))


def _set_path(node: Any, path: Path, value: str) -> Any:
    """A copy of `node` with `value` at `path`; only containers on the path are copied."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, Mapping) and isinstance(head, str):
        copied = dict(node)
        copied[head] = _set_path(node[head], rest, value)
        return copied
    if isinstance(node, list) and isinstance(head, int):
        copied_list = list(node)
        copied_list[head] = _set_path(node[head], rest, value)
        return copied_list
    raise ValidationError(f"cannot write at path {path!r}")


def text_at(message: Any, path: Path) -> str | None:
    """The text at `path` inside `message` (as `Slot.path` names it), or None."""
    node = message
    for step in path:
        if isinstance(step, str) and isinstance(node, Mapping):
            node = node.get(step)
        elif isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node):
            node = node[step]
        else:
            return None
    return node if isinstance(node, str) else None


def replace_slots(
    messages: Sequence[Message], replacements: Mapping[tuple[int, Path], str]
) -> list[Message]:
    """A new message list with the given slot texts replaced, sharing untouched messages."""
    out = list(messages)
    for (index, path), text in sorted(
        replacements.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))
    ):
        out[index] = _set_path(out[index], path, text)
    return out


def message_pieces(message: Mapping[str, Any]) -> tuple[list[str], int]:
    """The texts a provider tokenizes for this message, and fixed-cost tokens (images).

    Pieces are counted one by one, so a tool output's count is shared (memoized)
    between the message total and the slot that compresses it.
    """
    pieces: list[str] = [str(message.get("role", ""))]
    if message.get("name"):
        pieces.append(str(message["name"]))
    extra = _collect(message.get("content"), pieces)
    for call in message.get("tool_calls") or ():
        if isinstance(call, Mapping):
            fn = call.get("function") or {}
            if isinstance(fn, Mapping):
                pieces.append(str(fn.get("name", "")))
                pieces.append(_as_text(fn.get("arguments")))
    return [p for p in pieces if p], extra


def message_text_for_counting(message: Mapping[str, Any]) -> str:
    """All text a provider tokenizes for this message, joined (images excluded)."""
    return "\n".join(message_pieces(message)[0])


def _collect(content: Any, pieces: list[str]) -> int:
    """Append the text pieces of `content`; return the fixed tokens of its images."""
    if content is None:
        return 0
    if isinstance(content, str):
        pieces.append(content)
        return 0
    if not isinstance(content, list):
        pieces.append(_as_text(content))
        return 0
    extra = 0
    for block in content:
        if isinstance(block, str):
            pieces.append(block)
        elif not isinstance(block, Mapping):
            continue
        elif block.get("type") == "text":
            pieces.append(str(block.get("text", "")))
        elif block.get("type") in ("image", "image_url", "input_image", "file", "document"):
            extra += _IMAGE_TOKENS
        elif block.get("type") == "tool_use":
            pieces.append(str(block.get("name", "")))
            pieces.append(_as_text(block.get("input")))
        elif block.get("type") == "tool_result":
            extra += _collect(block.get("content"), pieces)
        elif block.get("type") in ("thinking", "redacted_thinking"):
            pieces.append(str(block.get("thinking") or block.get("data") or ""))
        else:
            pieces.append(_as_text({k: v for k, v in block.items() if k != "cache_control"}))
    return extra


def append_text(message: Mapping[str, Any], text: str) -> Message:
    """A copy of `message` with `text` added after its content, which is kept verbatim."""
    copied = dict(message)
    content = message.get("content")
    if isinstance(content, str):
        copied["content"] = f"{content}\n\n{text}"
    elif isinstance(content, list):
        copied["content"] = [*content, {"type": "text", "text": text}]
    else:
        copied["content"] = text
    return copied
