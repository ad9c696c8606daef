"""Retrieved originals on later turns, and markers that name no call when no tool is offered."""

from __future__ import annotations

import json
from typing import Any

import pytest

from headroom import CompressConfig, InMemoryStore, compress
from headroom.core.ccr import content_hash
from headroom.core.transforms.base import marker, marker_hashes

LOG = "\n".join(
    f"2026-01-0{1 + i % 9}T10:{i % 60:02d}:00Z INFO worker-{i % 5} handled request {i} in {i % 97}ms"
    for i in range(600)
)


def _conversation(tool_name: str, later_question: bool) -> list[dict[str, Any]]:
    call = {"id": "r", "type": "function",
            "function": {"name": tool_name, "arguments": json.dumps({"hash": content_hash(LOG)})}}  # fmt: skip
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "What happened to request 17?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "r", "content": LOG},
    ]
    if later_question:
        messages += [
            {"role": "assistant", "content": "It took 17ms."},
            {"role": "user", "content": "Thanks. Anything else?"},
        ]
    return messages


@pytest.mark.parametrize("name", ["headroom_retrieve", "fs__headroom_retrieve"])
def test_a_retrieved_original_is_whole_until_a_later_question(name: str) -> None:
    now = compress(_conversation(name, False), store=InMemoryStore())
    assert now.messages[2]["content"] == LOG
    later = compress(_conversation(name, True), store=InMemoryStore())
    assert len(later.messages[2]["content"]) < len(LOG) / 2
    assert content_hash(LOG) in later.ccr_hashes


def test_markers_name_no_call_when_the_tool_is_not_offered() -> None:
    messages = _conversation("read_logs", False)
    named = compress(messages, store=InMemoryStore())
    assert marker_hashes(named.messages[2]["content"]) == [content_hash(LOG)]
    store = InMemoryStore()
    plain = compress(messages, config=CompressConfig(markers_name_tool=False), store=store)
    text = plain.messages[2]["content"]
    assert "[headroom: " in text and "headroom_retrieve" not in text
    assert plain.ccr_hashes == [content_hash(LOG)] and store.get(content_hash(LOG)) == LOG


def test_marker_hashes_reads_what_marker_writes() -> None:
    h = content_hash("x")
    text = f"a\n{marker('3 lines cut', h)}\nb {marker('more', h)} {marker('no hash', None)}"
    assert marker_hashes(text) == [h]
    assert marker_hashes(json.dumps(text)) == [h]
