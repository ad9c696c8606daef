"""Provider behaviour that the fake model does not reach: filtering unanswerable retrieve calls."""

from __future__ import annotations

from typing import Any

from anthropic.types import Message, RawMessageStreamEvent
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import TypeAdapter

from headroom.client.providers import AnthropicProvider, OpenAIProvider
from headroom.client.streaming import AnthropicRelay, OpenAIChatRelay

RETRIEVE_ARGS = '{"hash": "0123456789abcdef"}'


def chunk(delta: dict[str, Any], finish: str | None = None) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "gpt-4o",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )


def call_delta(index: int, call_id: str, name: str, args: str) -> dict[str, Any]:
    return {
        "tool_calls": [
            {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": args},
            }
        ]
    }


def relayed(relay: Any, items: list[Any]) -> list[Any]:
    return [out for item in items for out in relay.feed(item)]


def test_openai_retrieve_after_another_call_is_filtered_not_held() -> None:
    relay = OpenAIChatRelay()
    relay.start_round(intercept=True)
    out = relayed(
        relay,
        [
            chunk({"role": "assistant", "content": ""}),
            chunk(call_delta(0, "call_a", "search", '{"q": "x"}')),
            chunk(call_delta(1, "call_hr", "headroom_retrieve", RETRIEVE_ARGS)),
            chunk({}, "tool_calls"),
        ],
    )
    names = [
        tc.function.name for c in out for tc in c.choices[0].delta.tool_calls or [] if tc.function
    ]
    assert names == ["search"]
    assert [c.choices[0].finish_reason for c in out if c.choices[0].finish_reason] == ["tool_calls"]
    assert relay.finish() is None


def test_openai_retrieve_with_no_rounds_left_is_hidden_and_finish_becomes_stop() -> None:
    relay = OpenAIChatRelay()
    relay.start_round(intercept=False)
    out = relayed(
        relay,
        [
            chunk({"role": "assistant", "content": "Checking."}),
            chunk(call_delta(0, "call_hr", "headroom_retrieve", RETRIEVE_ARGS)),
            chunk({}, "tool_calls"),
        ],
    )
    assert not any(c.choices[0].delta.tool_calls for c in out)
    assert out[-1].choices[0].finish_reason == "stop"
    assert relay.finish() is None


def test_openai_held_call_becomes_the_follow_up_message() -> None:
    relay = OpenAIChatRelay()
    relay.start_round(intercept=True)
    out = relayed(
        relay,
        [
            chunk({"role": "assistant", "content": "Checking."}),
            chunk(call_delta(0, "call_hr", "headroom_retrieve", '{"hash": ')),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"0123456789abcdef"}'}}]}),
            chunk({}, "tool_calls"),
        ],
    )
    assert [c.choices[0].delta.content for c in out] == ["Checking."]
    held = relay.finish()
    assert held is not None
    message = held["choices"][0]["message"]
    assert message["content"] == "Checking."
    assert message["tool_calls"][0]["function"]["arguments"] == RETRIEVE_ARGS


EVENTS = TypeAdapter(RawMessageStreamEvent)


def event(data: dict[str, Any]) -> Any:
    return EVENTS.validate_python(data)


def test_anthropic_retrieve_after_another_tool_use_is_filtered_and_indexes_stay_dense() -> None:
    relay = AnthropicRelay()
    relay.start_round(intercept=True)
    out = relayed(
        relay,
        [
            event(
                {
                    "type": "message_start",
                    "message": {
                        "id": "m",
                        "type": "message",
                        "role": "assistant",
                        "model": "claude",
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": 1, "output_tokens": 0},
                    },
                }
            ),
            event(
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {
                        "type": "tool_use",
                        "id": "t1",
                        "name": "search",
                        "input": {},
                    },
                }
            ),
            event({"type": "content_block_stop", "index": 0}),
            event(
                {
                    "type": "content_block_start",
                    "index": 1,
                    "content_block": {
                        "type": "tool_use",
                        "id": "t2",
                        "name": "headroom_retrieve",
                        "input": {},
                    },
                }
            ),
            event(
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": RETRIEVE_ARGS},
                }
            ),
            event({"type": "content_block_stop", "index": 1}),
            event(
                {
                    "type": "content_block_start",
                    "index": 2,
                    "content_block": {"type": "text", "text": "done"},
                }
            ),
            event({"type": "content_block_stop", "index": 2}),
            event(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                    "usage": {"output_tokens": 3},
                }
            ),
            event({"type": "message_stop"}),
        ],
    )
    starts = [e for e in out if e.type == "content_block_start"]
    assert [(e.index, e.content_block.type) for e in starts] == [(0, "tool_use"), (1, "text")]
    assert [e.index for e in out if e.type == "content_block_stop"] == [0, 1]
    assert [e.delta.stop_reason for e in out if e.type == "message_delta"] == ["tool_use"]
    assert relay.finish() is None


def test_final_responses_lose_only_retrieve_calls() -> None:
    completion = ChatCompletion.model_validate(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4o",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "headroom_retrieve", "arguments": "{}"},
                            }
                        ],
                    },
                }
            ],
        }
    )
    hidden = OpenAIProvider().hide_retrieve_calls(completion)
    assert hidden.choices[0].message.tool_calls is None
    assert hidden.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.tool_calls  # the original object is not changed

    message = Message.model_validate(
        {
            "id": "m",
            "type": "message",
            "role": "assistant",
            "model": "claude",
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
            "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "t", "name": "mcp__headroom_retrieve", "input": {}},
                {"type": "tool_use", "id": "u", "name": "search", "input": {}},
            ],
        }
    )
    hidden_message = AnthropicProvider().hide_retrieve_calls(message)
    assert [b.type for b in hidden_message.content] == ["text", "tool_use"]
    assert hidden_message.stop_reason == "tool_use"  # another tool call is still there


def test_anthropic_held_response_echoes_thinking_with_its_signature() -> None:
    relay = AnthropicRelay()
    relay.start_round(intercept=True)
    out = relayed(
        relay,
        [
            event(
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                }
            ),
            event(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "thinking_delta", "thinking": "I need the rows."},
                }
            ),
            event(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "signature_delta", "signature": "sig-123"},
                }
            ),
            event({"type": "content_block_stop", "index": 0}),
            event(
                {
                    "type": "content_block_start",
                    "index": 1,
                    "content_block": {
                        "type": "tool_use",
                        "id": "t",
                        "name": "headroom_retrieve",
                        "input": {},
                    },
                }
            ),
            event(
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": RETRIEVE_ARGS},
                }
            ),
        ],
    )
    assert [e.type for e in out] == [
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
    ]
    held = relay.finish()
    assert held is not None
    thinking, call = held["content"]
    assert thinking == {"type": "thinking", "thinking": "I need the rows.", "signature": "sig-123"}
    assert call["input"] == {"hash": "0123456789abcdef"} and call["name"] == "headroom_retrieve"


def test_openai_other_choices_pass_through_untouched() -> None:
    relay = OpenAIChatRelay()
    relay.start_round(intercept=True)
    other = ChatCompletionChunk.model_validate(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "gpt-4o",
            "choices": [
                {
                    "index": 1,
                    "delta": call_delta(0, "call_hr", "headroom_retrieve", RETRIEVE_ARGS),
                    "finish_reason": None,
                }
            ],
        }
    )
    assert relay.feed(other) == [other]
    assert relay.finish() is None
