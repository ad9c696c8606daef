"""Relaying an SDK stream while Headroom answers ``headroom_retrieve`` inside it.

The caller iterates the SDK's own chunk or event objects as they arrive. When
the model starts a ``headroom_retrieve`` call, that call and the rest of that
response are held back; Headroom answers it, asks the model again, and the
follow-up's chunks continue the same stream, so the caller sees one answer.
A retrieve call that cannot be answered (another tool call was already relayed,
or no rounds are left) is filtered out of what the caller sees; on a request
where Headroom offered no tool, every call passes as it came. One relay per
wire format (a `headroom.core.retrieve_loop.LiveRelay`); the core's
`relay_with_retrieval` drives them (see `headroom.client.retrieval`).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from typing import Any

from headroom.core.ccr import is_retrieve_name

__all__ = [
    "AnthropicRelay",
    "AsyncHeadroomStream",
    "HeadroomStream",
    "OpenAIChatRelay",
    "StreamRelay",
]


class StreamRelay(ABC):
    """Decides, chunk by chunk, what the caller sees of one streamed request."""

    def __init__(self) -> None:
        self.round = -1
        self.intercept = False
        self.hide = True
        self.held = False

    def start_round(self, intercept: bool, hide: bool = True) -> None:
        """A new upstream response begins; `intercept`: a retrieve call may be answered;
        `hide`: the tool is Headroom's, so one that is not answered is filtered out."""
        self.round += 1
        self.intercept = intercept
        self.hide = hide or intercept
        self.held = False

    @abstractmethod
    def feed(self, item: Any) -> list[Any]:
        """The SDK objects to hand the caller for one received chunk or event."""

    @abstractmethod
    def finish(self) -> dict[str, Any] | None:
        """The held response (as the JSON the retrieve adapter reads), or None if nothing was held."""


class OpenAIChatRelay(StreamRelay):
    """Chat Completions chunks (``ChatCompletionChunk``); only the first choice is watched."""

    def start_round(self, intercept: bool, hide: bool = True) -> None:
        super().start_round(intercept, hide)
        self.text = ""
        self.calls: dict[int, dict[str, Any]] = {}
        self.retrieve_indexes: set[int] = set()
        self.foreign = False

    def _collect(self, delta: Any) -> list[int]:
        if delta.content:
            self.text += delta.content
        indexes = []
        for tc in delta.tool_calls or []:
            entry = self.calls.setdefault(
                tc.index,
                {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
            )
            if tc.id:
                entry["id"] = tc.id
            if tc.function is not None:
                entry["function"]["name"] += tc.function.name or ""
                entry["function"]["arguments"] += tc.function.arguments or ""
            if self.hide and is_retrieve_name(entry["function"]["name"]):
                self.retrieve_indexes.add(tc.index)
            indexes.append(tc.index)
        return indexes

    def feed(self, item: Any) -> list[Any]:
        choices = getattr(item, "choices", None)
        if not choices:
            return [] if self.held else [item]
        choice = choices[0]
        delta = choice.delta
        if delta is None or choice.index != 0:  # with n > 1 only the first choice is watched
            return [] if self.held else [item]
        indexes = self._collect(delta)
        if self.held:
            return []
        starts_retrieve = any(i in self.retrieve_indexes for i in indexes)
        if starts_retrieve and self.intercept and not self.foreign:
            self.held = True
            if not delta.content:
                return []
            kept_delta = delta.model_copy(update={"tool_calls": None})
            return [
                _with_choice(
                    item, choice.model_copy(update={"delta": kept_delta, "finish_reason": None})
                )
            ]
        if not indexes and choice.finish_reason != "tool_calls":
            return [item]
        kept = [tc for tc in delta.tool_calls or [] if tc.index not in self.retrieve_indexes]
        if kept:
            self.foreign = True
        finish = choice.finish_reason
        if finish == "tool_calls" and not (set(self.calls) - self.retrieve_indexes):
            finish = "stop"  # only retrieve calls were made, and they are hidden
        if len(kept) == len(delta.tool_calls or []) and finish == choice.finish_reason:
            return [item]
        if not kept and not delta.content and not delta.role and finish is None:
            return []
        new_delta = delta.model_copy(update={"tool_calls": kept or None})
        return [
            _with_choice(
                item, choice.model_copy(update={"delta": new_delta, "finish_reason": finish})
            )
        ]

    def finish(self) -> dict[str, Any] | None:
        if not self.held:
            return None
        message = {
            "role": "assistant",
            "content": self.text or None,
            "tool_calls": [self.calls[i] for i in sorted(self.calls)],
        }
        return {"choices": [{"index": 0, "message": message}]}


def _with_choice(chunk: Any, choice: Any) -> Any:
    return chunk.model_copy(update={"choices": [choice, *chunk.choices[1:]]})


# Anthropic delta type -> (block field it extends, delta attribute holding the piece).
_DELTA_FIELDS: dict[str, tuple[str, str]] = {
    "text_delta": ("text", "text"),
    "input_json_delta": ("input", "partial_json"),
    "thinking_delta": ("thinking", "thinking"),
    "signature_delta": ("signature", "signature"),
}


class AnthropicRelay(StreamRelay):
    """Messages API stream events; block indexes are renumbered across rounds."""

    def __init__(self) -> None:
        super().__init__()
        self.next_index = 0

    def start_round(self, intercept: bool, hide: bool = True) -> None:
        super().start_round(intercept, hide)
        self.index_map: dict[int, int] = {}
        self.blocks: dict[int, dict[str, Any]] = {}
        self.retrieve_blocks: set[int] = set()
        self.foreign = False

    def _collect(self, item: Any) -> None:
        kind = item.type
        if kind == "content_block_start":
            # Every block is kept as it started (thinking blocks must be echoed back
            # with their signature), then grown by its deltas.
            block = item.content_block.model_dump(mode="json", exclude_none=True)
            if block.get("type") == "tool_use":
                block["input"] = ""
            self.blocks[item.index] = block
        elif kind == "content_block_delta" and item.index in self.blocks:
            entry, delta = self.blocks[item.index], item.delta
            spec = _DELTA_FIELDS.get(delta.type)
            piece = getattr(delta, spec[1], None) if spec else None
            if spec and isinstance(piece, str):
                entry[spec[0]] = (entry.get(spec[0]) or "") + piece

    def _renumbered(self, item: Any) -> list[Any]:
        index = self.index_map.get(item.index)
        if index is None:
            return []
        return [item if index == item.index else item.model_copy(update={"index": index})]

    def feed(self, item: Any) -> list[Any]:
        kind = getattr(item, "type", None)
        if kind in ("content_block_start", "content_block_delta", "content_block_stop"):
            self._collect(item)
        if self.held:
            return []
        if kind == "message_start":
            return [item] if self.round == 0 else []
        if kind == "content_block_start":
            block = item.content_block
            if block.type == "tool_use" and self.hide and is_retrieve_name(block.name):
                self.retrieve_blocks.add(item.index)
                if self.intercept and not self.foreign:
                    self.held = True
                return []
            if block.type == "tool_use":
                self.foreign = True
            self.index_map[item.index] = self.next_index
            self.next_index += 1
            return self._renumbered(item)
        if kind in ("content_block_delta", "content_block_stop"):
            return self._renumbered(item)
        if kind == "message_delta":
            if item.delta.stop_reason == "tool_use" and self.retrieve_blocks and not self.foreign:
                delta = item.delta.model_copy(update={"stop_reason": "end_turn"})
                return [item.model_copy(update={"delta": delta})]
            return [item]
        return [item]

    def finish(self) -> dict[str, Any] | None:
        if not self.held:
            return None
        content = []
        for index in sorted(self.blocks):
            block = dict(self.blocks[index])
            if block.get("type") == "tool_use":
                try:
                    block["input"] = json.loads(block["input"] or "{}")
                except ValueError:
                    block["input"] = {}
            content.append(block)
        return {"role": "assistant", "content": content}


class HeadroomStream:
    """A streamed response: iterate it like the SDK's stream; closing closes the SDK stream."""

    def __init__(self, items: Iterator[Any], holder: list[Any]) -> None:
        self._items = items
        self._holder = holder

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        return next(self._items)

    def __enter__(self) -> HeadroomStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and release the connection."""
        try:
            self._holder[0].close()
        finally:
            close = getattr(self._items, "close", None)
            if callable(close):
                close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._holder[0], name)  # e.g. .response of the SDK stream


class AsyncHeadroomStream:
    """The async twin of `HeadroomStream`."""

    def __init__(self, items: AsyncIterator[Any], holder: list[Any]) -> None:
        self._items = items
        self._holder = holder

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        return await self._items.__anext__()

    async def __aenter__(self) -> AsyncHeadroomStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop reading and release the connection."""
        try:
            await self._holder[0].close()
        finally:
            aclose = getattr(self._items, "aclose", None)
            if callable(aclose):
                await aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._holder[0], name)
