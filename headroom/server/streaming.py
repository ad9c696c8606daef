"""Answer ``headroom_retrieve`` inside a streamed response.

Most agents stream (Claude Code always does). The proxy relays the server-sent
events as they arrive. When the model starts a ``headroom_retrieve`` call, that
call, and anything after it in the same response, is held back. The proxy then
looks the original up, asks the upstream again with the call and its answer
appended, and continues the *same* client stream with the follow-up response.
The client sees one message: what the model wrote before and after reading the
original. Anthropic Messages and OpenAI Chat Completions streams are handled,
one small dialect each; a dialect only decides what to relay and what to hold
back. Finding the held calls, answering them and building the follow-up
request are the core's (`headroom.core.retrieval` adapters, the answer
function of `headroom.server.upstream`).

If the model has already streamed another tool call before the retrieve call,
the stream is relayed as is: that call has reached the client and cannot be
answered here.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from headroom.core.ccr import is_retrieve_name, parse_retrieve_arguments
from headroom.core.retrieval import RETRIEVE_ADAPTERS
from headroom.core.retrieve_adapter import RetrieveAdapter, RetrieveCall, add_usage
from headroom.core.retrieve_loop import Answer, arelay_with_retrieval

__all__ = ["STREAM_DIALECTS", "StreamDialect", "relay_stream"]

OpenStream = Callable[[dict[str, Any]], Awaitable[httpx.Response]]


def max_usage(a: dict[str, Any], b: Any) -> dict[str, Any]:
    """Field-wise maximum: one message's usage reported twice (start and end of a stream)."""
    if not isinstance(b, dict):
        return a
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            before = out.get(key, 0)
            out[key] = max(before if isinstance(before, int | float) else 0, value)
        elif isinstance(value, dict):
            before = out.get(key)
            out[key] = max_usage(before if isinstance(before, dict) else {}, value)
        else:
            out.setdefault(key, value)
    return out


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

    def rest(self) -> bytes:
        return self._buffer


def _payload(raw: bytes) -> bytes:
    return b"\n".join(line[5:].lstrip() for line in raw.split(b"\n") if line.startswith(b"data:"))


def _data(raw: bytes) -> dict[str, Any] | None:
    payload = _payload(raw)
    if not payload:
        return None
    try:
        value = json.loads(payload)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _compact(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))


class StreamDialect(ABC):
    """One upstream response in one wire format: what to relay and what to hold back."""

    api: str  # the wire format's name in `RETRIEVE_ADAPTERS`

    def __init__(
        self,
        round_no: int,
        offset: int,
        can_intercept: bool,
        earlier_usage: dict[str, Any] | None = None,
        hide: bool = False,
    ) -> None:
        self.round_no = round_no
        self.offset = offset
        self.can_intercept = can_intercept
        self.hide = hide or can_intercept  # a retrieve call not intercepted is held back too
        self.hidden = False  # a retrieve call was hidden (it could not be answered)
        self.forwarded = 0  # items (content blocks / tool calls) the client has seen
        self.numbers: dict[int, int] = {}  # upstream item index -> the client's index
        self.tool_forwarded = False
        self.earlier_usage = earlier_usage or {}  # summed usage of the rounds before this one
        self.usage: dict[str, Any] = {}  # this round's usage, as reported so far

    @property
    @abstractmethod
    def intercepting(self) -> bool:
        """Whether a retrieve call was held back in this response."""

    @abstractmethod
    def event(self, raw: bytes) -> bytes | None:
        """The bytes to send the client for one raw event, or None to hold it back."""

    @abstractmethod
    def response(self) -> dict[str, Any]:
        """What the client was shown plus the held retrieve calls, as a JSON response.

        The core adapter of the format reads the calls from it and builds the
        follow-up request (`headroom.core.retrieval`).
        """

    @staticmethod
    @abstractmethod
    def error_event(message: str) -> bytes:
        """An in-stream error in this format (the HTTP status is already sent)."""

    def _number(self, index: int) -> int:
        """The client's index for a newly forwarded item: hidden items leave no gap."""
        self.numbers[index] = self.offset + self.forwarded
        self.forwarded += 1
        return self.numbers[index]


class _Anthropic(StreamDialect):
    api = "anthropic_messages"

    def __init__(
        self,
        round_no: int,
        offset: int,
        can_intercept: bool,
        earlier_usage: dict[str, Any] | None = None,
        hide: bool = False,
    ) -> None:
        super().__init__(round_no, offset, can_intercept, earlier_usage, hide)
        self.blocks: dict[int, dict[str, Any]] = {}
        self.order: list[int] = []
        self.held: set[int] = set()
        self.calls: list[int] = []

    @property
    def intercepting(self) -> bool:
        return bool(self.calls)

    def _send(self, name: str, data: dict[str, Any]) -> bytes:
        index = int(data.get("index", 0))
        data = {**data, "index": self.numbers.get(index, self.offset + index)}
        return f"event: {name}\ndata: {_compact(data)}\n\n".encode()

    def event(self, raw: bytes) -> bytes | None:
        data = _data(raw)
        kind = data.get("type") if data else None
        if data is None or kind is None:
            return raw + b"\n\n"
        if kind == "message_start":
            message = data.get("message")
            if isinstance(message, dict):
                self.usage = max_usage(self.usage, message.get("usage"))
            return raw + b"\n\n" if self.round_no == 0 else None
        if kind == "content_block_start":
            return self._send(kind, data) if self._start(data) else None
        if kind in ("content_block_delta", "content_block_stop"):
            return self._send(kind, data) if self._delta(data) else None
        if kind == "message_delta":
            self.usage = max_usage(self.usage, data.get("usage"))
        if kind in ("message_delta", "message_stop") and self.intercepting:
            return None  # the follow-up's own end of message closes the stream
        raw_delta = data.get("delta")
        delta: dict[str, Any] = raw_delta if isinstance(raw_delta, dict) else {}
        only_hidden = (
            self.hidden and not self.tool_forwarded and delta.get("stop_reason") == "tool_use"
        )
        if kind == "message_delta" and (self.round_no > 0 or only_hidden):
            if self.round_no > 0:  # the client is told about every round it caused
                data = {**data, "usage": add_usage(self.earlier_usage, self.usage)}
            if only_hidden:  # the only calls were hidden: the message ends as an answer
                data = {**data, "delta": {**delta, "stop_reason": "end_turn"}}
            return f"event: {kind}\ndata: {_compact(data)}\n\n".encode()
        return raw + b"\n\n"

    def _start(self, data: dict[str, Any]) -> bool:
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
        if is_call and self.hide:  # ours, but it cannot be answered here
            self.held.add(index)
            self.hidden = True
            return False
        if block["type"] in ("tool_use", "server_tool_use"):
            self.tool_forwarded = True
        self.blocks[index] = {**block, "_json": ""}
        self.order.append(index)
        self._number(index)
        return True

    def _delta(self, data: dict[str, Any]) -> bool:
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
        if block["type"] in ("tool_use", "server_tool_use") and self.blocks[index]["_json"].strip():
            block["input"] = parse_retrieve_arguments(self.blocks[index]["_json"])
        return block

    def response(self) -> dict[str, Any]:
        return {"content": [self._finished(i) for i in [*self.order, *self.calls]]}

    @staticmethod
    def error_event(message: str) -> bytes:
        data = {"type": "error", "error": {"type": "api_error", "message": message}}
        return f"event: error\ndata: {_compact(data)}\n\n".encode()


class _OpenAIChat(StreamDialect):
    api = "openai_chat"

    def __init__(
        self,
        round_no: int,
        offset: int,
        can_intercept: bool,
        earlier_usage: dict[str, Any] | None = None,
        hide: bool = False,
    ) -> None:
        super().__init__(round_no, offset, can_intercept, earlier_usage, hide)
        self.text = ""
        self.calls: dict[int, dict[str, str]] = {}  # tool-call index -> id, name, arguments
        self.held: set[int] = set()

    @property
    def intercepting(self) -> bool:
        return bool(self.calls)

    def event(self, raw: bytes) -> bytes | None:
        if _payload(raw).strip() == b"[DONE]":
            return None if self.intercepting else raw + b"\n\n"
        data = _data(raw)
        if data is None:
            return raw + b"\n\n"
        if isinstance(data.get("usage"), dict):
            self.usage = max_usage(self.usage, data["usage"])
            if self.round_no > 0 and not self.intercepting:
                data = {**data, "usage": add_usage(self.earlier_usage, self.usage)}
                raw = f"data: {_compact(data)}".encode()
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices:
            return None if self.intercepting else raw + b"\n\n"  # e.g. the usage chunk
        kept_choices = []
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                kept_choices.append(choice)
                continue
            kept = self._choice(choice)
            if kept is not None:
                kept_choices.append(kept)
        if not kept_choices:
            return None
        if kept_choices == choices:
            return raw + b"\n\n"
        return f"data: {_compact({**data, 'choices': kept_choices})}\n\n".encode()

    def _choice(self, choice: dict[str, Any]) -> dict[str, Any] | None:
        delta = dict(choice.get("delta") or {})
        if isinstance(delta.get("content"), str):
            self.text += delta["content"]
        passed = []
        for call in delta.get("tool_calls") or []:
            if not isinstance(call, dict):
                continue
            index = int(call.get("index", 0))
            function = call.get("function") or {}
            name = function.get("name")
            if name is not None and index not in self.held and index not in self.numbers:
                is_call = is_retrieve_name(name)
                if self.intercepting or (
                    is_call and self.can_intercept and not self.tool_forwarded
                ):
                    self.held.add(index)
                    if is_call:
                        self.calls[index] = {
                            "id": str(call.get("id", "")),
                            "name": str(name),
                            "arguments": "",
                        }
                elif is_call and self.hide:  # ours, but it cannot be answered here
                    self.held.add(index)
                    self.hidden = True
                else:
                    self.tool_forwarded = True
                    self._number(index)
            if index in self.held:
                if index in self.calls:
                    self.calls[index]["arguments"] += str(function.get("arguments") or "")
                continue
            passed.append({**call, "index": self.numbers.get(index, self.offset + index)})
        if "tool_calls" in delta:
            if passed:
                delta["tool_calls"] = passed
            else:
                del delta["tool_calls"]
        if self.intercepting and choice.get("finish_reason"):
            return None  # the follow-up's own finish closes the message
        if choice.get("finish_reason") == "tool_calls" and self.hidden and not self.tool_forwarded:
            choice = {**choice, "finish_reason": "stop"}  # the only calls were hidden
        if (
            not delta
            and choice.get("finish_reason") is None
            and "tool_calls" in (choice.get("delta") or {})
        ):
            return None  # only held-back call fragments were in it
        return {**choice, "delta": delta}

    def response(self) -> dict[str, Any]:
        calls = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": c["arguments"]},
            }
            for c in self.calls.values()
        ]
        message = {"role": "assistant", "content": self.text or None, "tool_calls": calls}
        return {"choices": [{"index": 0, "message": message}]}

    @staticmethod
    def error_event(message: str) -> bytes:
        return (
            f"data: {_compact({'error': {'type': 'api_error', 'message': message}})}\n\n".encode()
        )


STREAM_DIALECTS: dict[str, type[StreamDialect]] = {
    "anthropic_messages": _Anthropic,
    "openai_chat": _OpenAIChat,
}


class _Rest:
    """Bytes left after a response's last complete event."""

    def __init__(self, data: bytes) -> None:
        self.data = data


class _Broken(Exception):
    """The upstream failed mid-stream or after a retrieval: ends the client stream with an error."""


class _SseRelay:
    """The core's `LiveRelay` over raw SSE events: one dialect per upstream response."""

    def __init__(self, dialect: type[StreamDialect]) -> None:
        self.dialect = dialect
        self.current: StreamDialect | None = None
        self.round_no, self.offset = -1, 0
        self.usage: dict[str, Any] = {}  # summed usage of the rounds before this one

    def start_round(self, intercept: bool, hide: bool = False) -> None:
        if self.current is not None:  # the last round was held back: this one continues it
            self.usage = add_usage(self.usage, self.current.usage)
            self.offset += self.current.forwarded
        self.round_no += 1
        self.current = self.dialect(self.round_no, self.offset, intercept, self.usage, hide)

    def feed(self, item: bytes | _Rest) -> list[bytes]:
        assert self.current is not None
        if isinstance(item, _Rest):
            return [] if self.current.intercepting else [item.data]
        out = self.current.event(item)
        return [] if out is None else [out]

    def finish(self) -> dict[str, Any] | None:
        assert self.current is not None
        return self.current.response() if self.current.intercepting else None


class _AsSent(RetrieveAdapter):
    """The format's core adapter for a request that already offers the tool as sent.

    The proxy opens the first response itself (its status and headers go to the
    client first); `last_round` is what the request becomes once the rounds
    are used up.
    """

    def __init__(
        self, inner: RetrieveAdapter, last_round: Callable[[dict[str, Any]], dict[str, Any]] | None
    ) -> None:
        self.inner, self.last_round = inner, last_round

    def can_offer(self, body: Any) -> bool:
        return True

    def add_tool(self, body: Any) -> Any:
        return body

    def withdraw_tool(self, body: Any) -> Any:
        return self.last_round(body) if self.last_round is not None else body

    def calls(self, response: Any) -> list[RetrieveCall]:
        return self.inner.calls(response)

    def follow_up(self, body: Any, response: Any, answers: list[tuple[RetrieveCall, str]]) -> Any:
        return self.inner.follow_up(body, response, answers)


async def relay_stream(
    dialect: type[StreamDialect],
    first: httpx.Response,
    body: dict[str, Any],
    open_stream: OpenStream,
    answer: Answer,
    rounds: int,
    last_round: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> AsyncIterator[bytes]:
    """Relay `first` (an open, 200 streaming response), answering retrieve calls up to `rounds` times.

    The rounds run in the core's live driver (`arelay_with_retrieval`). The
    follow-up after the last allowed round goes through `last_round` (which
    asks the model to answer without calling tools), so the stream ends with
    an answer; the usage the client sees sums every round. `answer` runs in a
    worker thread. An upstream that fails mid-stream or after a retrieval ends
    the stream with an error event (the HTTP status is already sent).
    """
    pending = [first]

    async def round_events(request: dict[str, Any]) -> AsyncIterator[bytes | _Rest]:
        if pending:
            response = pending.pop()
        else:
            try:
                response = await open_stream(request)
            except httpx.HTTPError as exc:
                message = f"upstream unreachable after retrieval: {type(exc).__name__}"
                raise _Broken(message) from exc
            if response.status_code != 200:
                detail = (await response.aread()).decode(errors="replace")[:500]
                await response.aclose()
                message = f"upstream returned {response.status_code} after retrieval: {detail}"
                raise _Broken(message)
        splitter = _EventSplitter()
        try:
            async for chunk in response.aiter_bytes():
                for raw in splitter.feed(chunk):
                    yield raw
            if splitter.rest().strip():
                yield _Rest(splitter.rest())
        except httpx.HTTPError as exc:
            raise _Broken(f"upstream stream failed: {type(exc).__name__}") from exc
        finally:
            await response.aclose()

    try:
        async for out in arelay_with_retrieval(
            body,
            round_events,
            _SseRelay(dialect),
            adapter=_AsSent(RETRIEVE_ADAPTERS[dialect.api], last_round),
            max_rounds=rounds,
            offer=rounds > 0,
            answer=answer,
        ):
            yield out
    except _Broken as exc:
        yield dialect.error_event(str(exc))
