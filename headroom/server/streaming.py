"""Answer ``headroom_retrieve`` inside an Anthropic Messages stream.

Claude Code and most Anthropic clients always stream. The proxy relays the
server-sent events as they arrive; when the model starts a
``headroom_retrieve`` tool call, that call (and anything after it in the same
response) is held back, the proxy looks the original up, asks the upstream
again with the call and its answer appended, and continues the *same* client
stream with the follow-up's content blocks (re-indexed). The client sees one
message whose content is what the model wrote before and after reading the
original.

If the model has already streamed another tool call before the retrieve call,
the stream is relayed as is: that call has reached the client and cannot be
answered here.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from headroom.server.retrieval import RetrieveCall, is_retrieve_name

__all__ = ["relay_anthropic_stream"]

OpenStream = Callable[[dict[str, Any]], Awaitable[httpx.Response]]
Answer = Callable[[RetrieveCall], Awaitable[str]]


class _EventSplitter:
    """Cuts a byte stream into raw SSE events (without the blank line ending each)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buffer += chunk
        if b"\r" in self._buffer:
            self._buffer = self._buffer.replace(b"\r\n", b"\n")
        events = []
        while b"\n\n" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\n\n", 1)
            if raw.strip():
                events.append(raw)
        return events


def _data(raw: bytes) -> dict[str, Any] | None:
    lines = [line[5:].lstrip() for line in raw.split(b"\n") if line.startswith(b"data:")]
    if not lines:
        return None
    try:
        value = json.loads(b"\n".join(lines))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _error_event(message: str) -> bytes:
    return _event("error", {"type": "error", "error": {"type": "api_error", "message": message}})


class _Response:
    """What one upstream response streamed, rebuilt so it can be echoed as the assistant turn."""

    def __init__(self, offset: int, can_intercept: bool) -> None:
        self.offset = offset
        self.can_intercept = can_intercept
        self.blocks: dict[int, dict[str, Any]] = {}
        self.order: list[int] = []
        self.forwarded = 0
        self.held: set[int] = set()
        self.calls: list[int] = []
        self.tool_forwarded = False

    @property
    def intercepting(self) -> bool:
        return bool(self.calls)

    def start(self, data: dict[str, Any]) -> bool:
        """Record a content block; True if it goes to the client."""
        index = int(data.get("index", 0))
        block = dict(data.get("content_block") or {})
        block.setdefault("type", "text")
        is_call = block["type"] == "tool_use" and is_retrieve_name(block.get("name"))
        if self.intercepting or (is_call and self.can_intercept and not self.tool_forwarded):
            self.held.add(index)
            if is_call:
                self.blocks[index] = {**block, "_json": ""}
                self.calls.append(index)
            return False
        if block["type"] in ("tool_use", "server_tool_use"):
            self.tool_forwarded = True
        self.blocks[index] = {**block, "_json": ""}
        self.order.append(index)
        self.forwarded += 1
        return True

    def delta(self, data: dict[str, Any]) -> bool:
        """Accumulate a delta; True if it goes to the client."""
        index = int(data.get("index", 0))
        block = self.blocks.get(index)
        delta = data.get("delta") or {}
        if block is not None:
            kind = delta.get("type")
            if kind == "text_delta":
                block["text"] = block.get("text", "") + str(delta.get("text", ""))
            elif kind == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + str(delta.get("thinking", ""))
            elif kind == "signature_delta":
                block["signature"] = str(delta.get("signature", ""))
            elif kind == "input_json_delta":
                block["_json"] += str(delta.get("partial_json", ""))
        return index not in self.held

    def _finished(self, index: int) -> dict[str, Any]:
        block = {k: v for k, v in self.blocks[index].items() if k != "_json"}
        if block["type"] in ("tool_use", "server_tool_use"):
            raw = self.blocks[index]["_json"]
            try:
                block["input"] = json.loads(raw) if raw.strip() else block.get("input", {})
            except ValueError:
                block["input"] = {}
        return block

    def retrieve_calls(self) -> list[RetrieveCall]:
        calls = []
        for index in self.calls:
            block = self._finished(index)
            arguments = block.get("input")
            calls.append(
                RetrieveCall(str(block.get("id")), arguments if isinstance(arguments, dict) else {})
            )
        return calls

    def assistant_turn(self) -> dict[str, Any]:
        return {
            "role": "assistant",
            "content": [self._finished(i) for i in [*self.order, *self.calls]],
        }

    def reindex(self, data: dict[str, Any], name: str) -> bytes:
        return _event(name, {**data, "index": self.offset + int(data.get("index", 0))})


async def relay_anthropic_stream(
    first: httpx.Response,
    body: dict[str, Any],
    open_stream: OpenStream,
    answer: Answer,
    rounds: int,
) -> AsyncIterator[bytes]:
    """Relay `first` (an open, 200 streaming response), answering retrieve calls up to `rounds` times."""
    response: httpx.Response | None = first
    offset = 0
    round_no = 0
    while response is not None:
        current = _Response(offset, can_intercept=round_no < rounds)
        splitter = _EventSplitter()
        try:
            async for chunk in response.aiter_bytes():
                for raw in splitter.feed(chunk):
                    data = _data(raw)
                    kind = data.get("type") if data else None
                    if data is None or kind is None:
                        yield raw + b"\n\n"
                    elif kind == "message_start":
                        if round_no == 0:
                            yield raw + b"\n\n"
                    elif kind == "content_block_start":
                        if current.start(data):
                            yield current.reindex(data, kind)
                    elif kind in ("content_block_delta", "content_block_stop"):
                        if current.delta(data):
                            yield current.reindex(data, kind)
                    elif kind in ("message_delta", "message_stop") and current.intercepting:
                        continue  # the follow-up's own end of message closes the stream
                    else:
                        yield raw + b"\n\n"
        except httpx.HTTPError as exc:
            yield _error_event(f"upstream stream failed: {type(exc).__name__}")
            return
        finally:
            await response.aclose()
        if not current.intercepting:
            return
        calls = current.retrieve_calls()
        results = [
            {"type": "tool_result", "tool_use_id": c.id, "content": await answer(c)} for c in calls
        ]
        messages = list(body.get("messages") or [])
        body = {
            **body,
            "messages": [*messages, current.assistant_turn(), {"role": "user", "content": results}],
        }
        offset += current.forwarded
        round_no += 1
        try:
            response = await open_stream(body)
        except httpx.HTTPError as exc:
            yield _error_event(f"upstream unreachable after retrieval: {type(exc).__name__}")
            return
        if response.status_code != 200:
            detail = (await response.aread()).decode(errors="replace")[:500]
            await response.aclose()
            yield _error_event(
                f"upstream returned {response.status_code} after retrieval: {detail}"
            )
            return
