"""Round-trip properties of the converters: every message type and field survives."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    HumanMessageChunk,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
    ToolMessageChunk,
)

from headroom import compress
from headroom.integrations.langchain import HeadroomChatModel, from_core, to_core
from tests.conftest import case
from tests.integrations.langchain.fakes import RecordingChatModel

_text = st.text(max_size=40)
_ident = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
_json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-99, 99), _text)
_json = st.recursive(
    _json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_ident, inner, max_size=3)
    ),
    max_leaves=6,
)
_blocks = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, _text),
    st.builds(
        lambda d: {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{d}"}},
        st.from_regex(r"[A-Za-z0-9+/]{4,16}", fullmatch=True),
    ),
    st.builds(
        lambda d: {"type": "image", "base64": d, "mime_type": "image/png"},
        st.from_regex(r"[A-Za-z0-9+/]{4,16}", fullmatch=True),
    ),
    st.builds(
        lambda name: {"type": "file", "file": {"filename": f"{name}.pdf", "file_data": "JVBERi0="}},
        _ident,
    ),
    st.builds(lambda k, v: {"type": f"x_{k}", "payload": v}, _ident, _json),
    _text,
)
_content = st.one_of(_text, st.lists(_blocks, max_size=4))
_kwargs = st.dictionaries(_ident, _json, max_size=3)
_ids = st.one_of(st.none(), _ident)
_names = st.one_of(st.none(), _ident)
_tool_call = st.builds(
    lambda name, args, call_id: {"name": name, "args": args, "id": call_id, "type": "tool_call"},
    _ident,
    st.dictionaries(_ident, _json, max_size=3),
    _ident,
)
_invalid_call = st.builds(
    lambda name, args, call_id: {
        "name": name,
        "args": args,
        "id": call_id,
        "error": "bad json",
        "type": "invalid_tool_call",
    },
    _ident,
    _text,
    _ident,
)
_common = {"id": _ids, "name": _names, "additional_kwargs": _kwargs, "response_metadata": _kwargs}
_messages = st.one_of(
    st.builds(SystemMessage, content=_content, **_common),
    st.builds(HumanMessage, content=_content, **_common),
    st.builds(HumanMessageChunk, content=_content, **_common),
    st.builds(
        AIMessage,
        content=_content,
        tool_calls=st.lists(_tool_call, max_size=2),
        invalid_tool_calls=st.lists(_invalid_call, max_size=1),
        **_common,
    ),
    st.builds(AIMessageChunk, content=_content, **_common),
    st.builds(
        ToolMessage,
        content=_content,
        tool_call_id=_ident,
        artifact=_json,
        status=st.sampled_from(["success", "error"]),
        **_common,
    ),
    st.builds(ToolMessageChunk, content=_content, tool_call_id=_ident, **_common),
    st.builds(FunctionMessage, content=_content, name=_ident, id=_ids, additional_kwargs=_kwargs),
    st.builds(ChatMessage, content=_content, role=_ident, **_common),
)
_lists = st.lists(_messages, min_size=1, max_size=6)
_settings = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(_lists)
def test_round_trip_is_identity(messages: list[BaseMessage]) -> None:
    back = from_core(to_core(messages), messages)
    assert back == messages
    assert all(a is b for a, b in zip(back, messages, strict=True))


def _big_tool_output() -> str:
    return str(case("p-logs-openssh")["messages"][-1]["content"])


@_settings
@given(_lists, st.integers(min_value=0, max_value=6))
def test_compression_changes_only_the_content_it_meant_to(
    messages: list[BaseMessage], at: int
) -> None:
    call = AIMessage(
        content="", tool_calls=[{"name": "read_logs", "args": {}, "id": "big", "type": "tool_call"}]
    )
    tool = ToolMessage(
        content=_big_tool_output(), tool_call_id="big", id="t-big", artifact={"rows": 2}
    )
    at = min(at, len(messages))
    conversation = [*messages[:at], call, tool, *messages[at:]]
    snapshot = [m.model_copy(deep=True) for m in conversation]
    result = compress(to_core(conversation), "gpt-4o")
    back = from_core(result.messages, conversation)
    assert conversation == snapshot  # never mutated
    assert len(back) == len(conversation)
    for before, after in zip(conversation, back, strict=True):
        if after is before:
            continue
        assert type(after) is type(before)
        assert after.model_dump(exclude={"content"}) == before.model_dump(exclude={"content"})
    compressed_tool = back[at + 1]
    assert isinstance(compressed_tool, ToolMessage)
    assert len(str(compressed_tool.content)) < len(str(tool.content))
    assert (compressed_tool.id, compressed_tool.artifact) == ("t-big", {"rows": 2})


@_settings
@given(_lists)
def test_wrapped_model_receives_every_message_unchanged(messages: list[BaseMessage]) -> None:
    fake = RecordingChatModel(responses=["ok"])
    HeadroomChatModel(fake).invoke(messages)
    assert fake.received[-1] == messages


def test_without_originals_builds_messages_from_the_dicts() -> None:
    messages: list[BaseMessage] = [
        SystemMessage("be brief"),
        HumanMessage([{"type": "text", "text": "hi"}], name="ann"),
        AIMessage(
            "", tool_calls=[{"name": "f", "args": {"a": 1}, "id": "c1", "type": "tool_call"}]
        ),
        ToolMessage("result", tool_call_id="c1"),
    ]
    back = from_core(to_core(messages))
    assert [type(m) for m in back] == [SystemMessage, HumanMessage, AIMessage, ToolMessage]
    assert [m.content for m in back] == [m.content for m in messages]
    assert back[1].name == "ann"
    assert back[2].tool_calls == messages[2].tool_calls  # type: ignore[attr-defined]
    assert back[3].tool_call_id == "c1"  # type: ignore[attr-defined]


def test_roles_follow_the_openai_table() -> None:
    developer = SystemMessage("x", additional_kwargs={"__openai_role__": "developer"})
    messages: list[Any] = [
        developer,
        ChatMessage(content="y", role="critic"),
        FunctionMessage("z", name="f"),
    ]
    assert [m["role"] for m in to_core(messages)] == ["developer", "critic", "function"]


def test_unknown_message_types_are_rejected_not_dropped() -> None:
    with pytest.raises(TypeError, match="Got unknown type"):
        to_core([RemoveMessage(id="x")])
    with pytest.raises(TypeError, match="Got unknown type"):
        to_core(["not a message"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="originals"):
        from_core([{"role": "user", "content": "a"}], [])
