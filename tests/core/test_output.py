"""Compressing one output where it is produced, without a conversation around it."""

from __future__ import annotations

import json
import random

from headroom import CompressConfig, InMemoryStore, compress
from headroom.core.ccr import content_hash
from headroom.core.output import compress_output


def _records(seed: int, planted: str) -> str:
    rng = random.Random(seed)
    rows = [{"id": i, "name": f"item-{rng.randrange(10**6)}", "price": rng.randrange(1, 999),
             "stock": rng.randrange(0, 50)} for i in range(300)]  # fmt: skip
    rows[rng.randrange(300)]["name"] = planted
    return json.dumps(rows, indent=2)


def test_matches_what_compress_does_for_the_same_output() -> None:
    text = _records(3, "blue-falcon")
    question = "What is the price of blue-falcon?"
    args = {"table": "items"}
    result = compress_output(text, tool_name="query", arguments=args, question=question,
                             store=InMemoryStore())  # fmt: skip
    call = {"id": "c", "type": "function",
            "function": {"name": "query", "arguments": json.dumps(args)}}  # fmt: skip
    messages = [{"role": "user", "content": question},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c", "content": text}]  # fmt: skip
    config = CompressConfig(recall=False, cache_align=False)
    whole = compress(messages, config=config, store=InMemoryStore())
    assert result.text == whole.messages[-1]["content"]
    assert "blue-falcon" in result.text and result.tokens_saved > 0
    assert result.ccr_hashes == whole.ccr_hashes
    assert result.stats()["tokens_saved"] == result.tokens_saved


def test_protected_small_and_retrieved_outputs_are_left_alone() -> None:
    text = _records(5, "x")
    protected = CompressConfig(protect_tools=("query",))
    assert compress_output(text, tool_name="query", config=protected).text == text
    assert compress_output("short", tool_name="query").text == "short"
    assert compress_output(text, tool_name="headroom_retrieve").text == text


class _FullStore(InMemoryStore):
    def put(self, key: str, value: str) -> None:
        raise OSError("disk full")


def test_no_lossy_cut_without_a_stored_original() -> None:
    text = _records(9, "y")
    result = compress_output(text, tool_name="query", store=_FullStore())
    assert result.ccr_hashes == [] and "headroom_retrieve" not in result.text
    stored = InMemoryStore()
    lossy = compress_output(text, tool_name="query", store=stored)
    assert lossy.ccr_hashes == [content_hash(text)] and stored.get(content_hash(text)) == text
