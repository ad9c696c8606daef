"""Properties of the stream relays over generated streams (hypothesis)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from anthropic.types import RawMessageStreamEvent
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionChunk
from pydantic import TypeAdapter

from headroom.client.streaming import AnthropicRelay, OpenAIChatRelay

HASH = "0123456789abcdef"


def chunk(delta: dict[str, Any], finish: str | None = None) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )


def call_chunks(index: int, call_id: str, name: str, args: str, cuts: list[int]) -> list[Any]:
    """A tool call as streamed: id and name first, then the arguments in pieces."""
    bounds = sorted({c % (len(args) + 1) for c in cuts} | {0, len(args)})
    first = {
        "index": index,
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": ""},
    }
    out = [chunk({"tool_calls": [first]})]
    for a, b in itertools.pairwise(bounds):
        out.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": args[a:b]}}]}))
    return out


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[Any], str, bool, bool]:
    words = draw(st.lists(st.text(alphabet="abc xyz.", min_size=1, max_size=6), max_size=6))
    foreign_first = draw(st.booleans())
    with_retrieve = draw(st.booleans())
    cuts = draw(st.lists(st.integers(0, 40), max_size=4))
    items = [chunk({"role": "assistant", "content": ""})]
    items += [chunk({"content": w}) for w in words]
    index = 0
    if foreign_first:
        items += call_chunks(index, "call_f", "search", '{"q": "x"}', cuts)
        index += 1
    if with_retrieve:
        items += call_chunks(index, "call_r", "headroom_retrieve", json.dumps({"hash": HASH}), cuts)
    finish = "tool_calls" if foreign_first or with_retrieve else "stop"
    items.append(chunk({}, finish))
    return items, "".join(words), foreign_first, with_retrieve


def visible_calls(out: list[Any]) -> list[str]:
    return [
        tc.function.name
        for c in out
        for tc in c.choices[0].delta.tool_calls or []
        if tc.function is not None and tc.function.name
    ]


@settings(max_examples=150, deadline=None)
@given(streams(), st.booleans())
def test_openai_relay_invariants(case: tuple[list[Any], str, bool, bool], intercept: bool) -> None:
    items, text, foreign_first, with_retrieve = case
    relay = OpenAIChatRelay()
    relay.start_round(intercept)
    out = [o for item in items for o in relay.feed(item)]
    held = relay.finish()

    # The caller always gets the text, never a retrieve call.
    assert "".join(c.choices[0].delta.content or "" for c in out) == text
    assert "headroom_retrieve" not in visible_calls(out)
    assert visible_calls(out) == (["search"] if foreign_first else [])
    finishes = [c.choices[0].finish_reason for c in out if c.choices[0].finish_reason]
    if held is not None:
        # Held only when answerable: a retrieve call, rounds left, nothing else relayed.
        assert with_retrieve and intercept and not foreign_first
        assert finishes == []  # the follow-up finishes the stream
        [call] = [c for c in held["choices"][0]["message"]["tool_calls"]]
        assert json.loads(call["function"]["arguments"]) == {"hash": HASH}
        assert held["choices"][0]["message"]["content"] == (text or None)
    else:
        assert not (with_retrieve and intercept and not foreign_first)
        assert finishes == (["tool_calls"] if foreign_first else ["stop"])


EVENTS = TypeAdapter(RawMessageStreamEvent)


def ev(data: dict[str, Any]) -> Any:
    return EVENTS.validate_python(data)


def text_block(index: int, text: str) -> list[Any]:
    return [
        ev(
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            }
        ),
        ev(
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "text_delta", "text": text},
            }
        ),
        ev({"type": "content_block_stop", "index": index}),
    ]


def tool_block(index: int, name: str, args: str) -> list[Any]:
    start = {"type": "tool_use", "id": f"toolu_{index}", "name": name, "input": {}}
    return [
        ev({"type": "content_block_start", "index": index, "content_block": start}),
        ev(
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": args},
            }
        ),
        ev({"type": "content_block_stop", "index": index}),
    ]


@st.composite
def anthropic_streams(draw: st.DrawFn) -> tuple[list[Any], list[str], bool, bool, list[str]]:
    """Blocks in a random order: texts, maybe one foreign tool_use, maybe one retrieve call."""
    kinds = draw(st.lists(st.sampled_from(["text", "text", "foreign", "retrieve"]), max_size=6))
    texts = draw(
        st.lists(
            st.text(alphabet="ab .", min_size=1, max_size=5),
            min_size=len(kinds),
            max_size=len(kinds),
        )
    )
    items: list[Any] = []
    for index, (kind, text) in enumerate(zip(kinds, texts, strict=True)):
        if kind == "text":
            items += text_block(index, text)
        elif kind == "foreign":
            items += tool_block(index, "search", '{"q": "x"}')
        else:
            items += tool_block(index, "headroom_retrieve", json.dumps({"hash": HASH}))
    stop = "tool_use" if {"foreign", "retrieve"} & set(kinds) else "end_turn"
    items.append(
        ev({"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": 1}})
    )
    items.append(ev({"type": "message_stop"}))
    return items, kinds, "foreign" in kinds, "retrieve" in kinds, texts


@settings(max_examples=150, deadline=None)
@given(anthropic_streams(), st.booleans())
def test_anthropic_relay_invariants(
    case: tuple[list[Any], list[str], bool, bool, list[str]], intercept: bool
) -> None:
    items, kinds, has_foreign, has_retrieve, texts = case
    relay = AnthropicRelay()
    relay.start_round(intercept)
    out = [o for item in items for o in relay.feed(item)]
    held = relay.finish()

    starts = [e for e in out if e.type == "content_block_start"]
    assert [e.index for e in starts] == list(range(len(starts)))  # dense, in order
    assert all(
        e.index < len(starts)
        for e in out
        if e.type in ("content_block_delta", "content_block_stop")
    )
    assert not any(
        e.content_block.type == "tool_use" and e.content_block.name == "headroom_retrieve"
        for e in starts
    )
    first_retrieve = kinds.index("retrieve") if has_retrieve else len(kinds)
    foreign_before = "foreign" in kinds[:first_retrieve]
    if held is not None:
        assert has_retrieve and intercept and not foreign_before
        # What the caller saw is everything before the retrieve call; nothing after it.
        shown = [k for k in kinds[:first_retrieve]]
        assert [e.content_block.type for e in starts] == [
            "text" if k == "text" else "tool_use" for k in shown
        ]
        assert not any(e.type in ("message_delta", "message_stop") for e in out)
        names = [b.get("name") for b in held["content"] if b["type"] == "tool_use"]
        assert "headroom_retrieve" in names
    else:
        assert not (has_retrieve and intercept and not foreign_before)
        visible = [k for k in kinds if k != "retrieve"]
        assert len(starts) == len(visible)
        text = "".join(t for k, t in zip(kinds, texts, strict=True) if k == "text")
        shown = "".join(
            e.delta.text
            for e in out
            if e.type == "content_block_delta" and e.delta.type == "text_delta"
        )
        assert shown == text
        [stop] = [e.delta.stop_reason for e in out if e.type == "message_delta"]
        assert stop == ("tool_use" if has_foreign else "end_turn")
