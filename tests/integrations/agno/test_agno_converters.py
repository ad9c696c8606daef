"""agno Message <-> core dicts: strict on types, everything the core did not change survives."""

from __future__ import annotations

import pytest
from agno.media import Audio, File, Image, Video
from agno.models.message import Message
from agno_kit import order_records
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.integrations.agno import from_core, to_core


def _rich_tool_message() -> Message:
    return Message(
        id="m-1",
        role="tool",
        content="x" * 10,
        tool_call_id="call_9",
        tool_name="read_logs",
        tool_args={"target": "a"},
        images=[Image(content=b"img", id="i1")],
        audio=[Audio(content=b"aud", id="a1")],
        videos=[Video(content=b"vid", id="v1")],
        files=[File(content=b"file", id="f1")],
        reasoning_content="thinking",
        redacted_reasoning_content="redacted",
        provider_data={"signature": "sig"},
        from_history=True,
        created_at=123,
        add_to_agent_memory=False,
    )


def test_to_core_shape() -> None:
    assistant = Message(
        role="assistant",
        tool_calls=[
            {
                "id": "call_9",
                "type": "function",
                "function": {"name": "read_logs", "arguments": "{}"},
            }
        ],
    )
    out = to_core([Message(role="system", content="s"), assistant, _rich_tool_message()])
    assert out[0] == {"role": "system", "content": "s"}
    assert out[1]["tool_calls"][0]["id"] == "call_9" and out[1]["content"] is None
    assert out[2] == {
        "role": "tool",
        "content": "x" * 10,
        "tool_call_id": "call_9",
        "name": "read_logs",
    }


def test_unchanged_messages_are_the_same_objects() -> None:
    messages = [Message(role="user", content="q"), _rich_tool_message()]
    sent = to_core(messages)
    assert all(a is b for a, b in zip(from_core(messages, sent, sent), messages, strict=True))


def test_changed_message_is_a_copy_with_every_other_field() -> None:
    original = _rich_tool_message()
    sent = to_core([original])
    compressed = [{**sent[0], "content": "short"}]

    (out,) = from_core([original], sent, compressed)

    assert out is not original
    assert out.content == "short" and original.content == "x" * 10
    assert out.model_dump(exclude={"content"}) == original.model_dump(exclude={"content"})
    assert out.images is original.images and out.metrics is original.metrics


def test_compressed_content_round_trip() -> None:
    original = Message(role="tool", tool_call_id="c", content="full", compressed_content="summary")
    sent = to_core([original], use_compressed_content=True)
    assert sent[0]["content"] == "summary"
    (out,) = from_core(
        [original], sent, [{**sent[0], "content": "shorter"}], use_compressed_content=True
    )
    assert (out.content, out.compressed_content) == ("full", "shorter")


def test_list_content_passes_through() -> None:
    parts = [{"type": "text", "text": "hi"}, {"type": "custom_block", "data": 1}]
    message = Message(role="user", content=parts)
    sent = to_core([message])
    assert sent[0]["content"] is message.content
    assert from_core([message], sent, sent)[0] is message


@pytest.mark.parametrize("bad", [{"role": "user", "content": "x"}, "hello", None])
def test_unknown_types_are_refused(bad: object) -> None:
    with pytest.raises(TypeError, match="Got unknown type"):
        to_core([bad])  # type: ignore[list-item]


def test_misaligned_output_is_refused() -> None:
    message = Message(role="user", content="q")
    with pytest.raises(ValueError, match="line up"):
        from_core([message], to_core([message]), [])


_roles = st.sampled_from(["system", "user", "assistant", "tool", "developer"])
_text = st.text(max_size=40)
_content = st.one_of(
    st.none(),
    _text,
    st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": _text}), max_size=3),
)


@st.composite
def _messages(draw: st.DrawFn) -> list[Message]:
    out = []
    for i in range(draw(st.integers(min_value=0, max_value=6))):
        role = draw(_roles)
        out.append(
            Message(
                role=role,
                content=draw(_content),
                tool_call_id=f"c{i}" if role == "tool" else None,
                from_history=draw(st.booleans()),
                provider_data=draw(st.one_of(st.none(), st.fixed_dictionaries({"k": _text}))),
            )
        )
    return out


@settings(deadline=None)  # a pause on a loaded machine is no failure: speed is benchmarked
@given(_messages(), st.data())
def test_round_trip_changes_only_what_the_core_changed(
    messages: list[Message], data: st.DataObject
) -> None:
    snapshot = [m.model_dump() for m in messages]
    sent = to_core(messages)
    assert len(sent) == len(messages)
    # Identity when nothing changed.
    assert all(a is b for a, b in zip(from_core(messages, sent, sent), messages, strict=True))
    # Rewrite an arbitrary subset of contents: only those messages are copied, only content differs.
    changed = {i for i in range(len(sent)) if data.draw(st.booleans())}
    compressed = [{**d, "content": f"<{i}>"} if i in changed else d for i, d in enumerate(sent)]
    out = from_core(messages, sent, compressed)
    for i, (original, new) in enumerate(zip(messages, out, strict=True)):
        if i in changed and original.content != f"<{i}>":
            assert new is not original and new.content == f"<{i}>"
            assert new.model_dump(exclude={"content"}) == original.model_dump(exclude={"content"})
        else:
            assert new is original
    assert [m.model_dump() for m in messages] == snapshot


# -- tool outputs agno turned into text with str(): Python reprs of lists and dicts -----------


@pytest.mark.parametrize(
    "text",
    [
        str(order_records(1, 5, 2)),  # what agno sends for a list return value
        '{"already": "json"}',
        "{'when': datetime.datetime(2024, 1, 1)}",
        "['unbalanced'",
    ],
)
def test_tool_texts_reach_the_core_as_agno_made_them(text: str) -> None:
    """The core reads a repr as the data it stands for; the converter does not rewrite it."""
    tool = Message(role="tool", tool_call_id="c", content=text)
    assert to_core([tool])[0]["content"] == text
    assert from_core([tool], to_core([tool]), to_core([tool]))[0] is tool


def test_repr_of_user_text_is_not_touched() -> None:
    text = str([{"a": 1}])
    assert to_core([Message(role="user", content=text)])[0]["content"] == text
