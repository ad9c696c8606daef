"""The shape of a conversation that fitting the window must respect: which tail stays
verbatim, which roles are never left out, and which messages go together (a call
and its results) when whole turns are left out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from headroom.core.messages import Message, user_text

__all__ = ["KEPT_ROLES", "group_starts", "last_group_start", "protected_from"]

#: An agent loop answering one question runs many tool rounds; beyond the last
#: `keep_last_turns` user turns, only this many rounds per kept turn stay verbatim.
_ROUNDS_PER_TURN = 2
#: Roles never left out: the system prompt and its like hold the policy.
KEPT_ROLES = frozenset({"system", "developer"})


def protected_from(messages: Sequence[Message], keep_last_turns: int) -> tuple[int, int]:
    """Where the kept tail starts, and the index of the latest question.

    The tail is the last `keep_last_turns` user turns, but at most their share
    of model rounds (assistant messages) when one turn holds a long agent loop.
    Both bounds only move forward as a conversation grows, so what was
    stubbable stays stubbable and earlier stubs never come back.
    """
    turns = rounds = 0
    turn_start = round_start = 0
    last_question = -1
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if turns < keep_last_turns and user_text(message).strip():
            turns += 1
            turn_start = i
            if last_question < 0:
                last_question = i
        if rounds < keep_last_turns * _ROUNDS_PER_TURN and message.get("role") == "assistant":
            rounds += 1
            round_start = i
        if turns >= keep_last_turns and rounds >= keep_last_turns * _ROUNDS_PER_TURN:
            break
    if last_question < 0:
        last_question = next(
            (i for i in range(len(messages) - 1, -1, -1) if user_text(messages[i]).strip()), -1
        )
    if rounds < keep_last_turns * _ROUNDS_PER_TURN:
        round_start = 0
    return max(turn_start, round_start), last_question


def _answers_calls(message: Mapping[str, object]) -> bool:
    """A tool result: it goes (or stays) with the call before it."""
    if message.get("role") in ("tool", "function"):
        return True
    content = message.get("content")
    return (
        message.get("role") == "user"
        and isinstance(content, list)
        and any(isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content)
    )


def _makes_calls(message: Mapping[str, object]) -> bool:
    if message.get("tool_calls"):
        return True
    content = message.get("content")
    return isinstance(content, list) and any(
        isinstance(b, Mapping) and b.get("type") == "tool_use" for b in content
    )


def group_starts(messages: Sequence[Message], lo: int, hi: int) -> list[int]:
    """Where the groups left out together start in `[lo, hi)`: a message, and when
    it makes tool calls, the results that follow it."""
    starts: list[int] = []
    calls = False
    for i in range(lo, hi):
        message = messages[i]
        if starts and calls and _answers_calls(message):
            continue
        starts.append(i)
        calls = _makes_calls(message)
    return starts


def last_group_start(messages: Sequence[Message], lo: int, hi: int) -> int:
    """The last of `group_starts(messages, lo, hi)` (`lo` when none), read from the end."""
    if hi <= lo:
        return lo
    j = hi - 1
    while j > lo and _answers_calls(messages[j]):
        j -= 1
    if j == hi - 1 or (_makes_calls(messages[j]) and not _answers_calls(messages[j])):
        return j
    return hi - 1
