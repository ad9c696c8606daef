"""The memos that make re-sent history a lookup are bounded by bytes."""

from __future__ import annotations

from headroom import compress
from headroom.core import memo
from headroom.core.memo import ENTRY_OVERHEAD, Memo


def test_bounded_by_bytes_not_entries() -> None:
    cache = Memo(8 * 2**20)
    for i in range(100):  # 100 distinct 1 MB values: 100 MB if entries were the bound
        cache.put(("slot", i), "x" * 2**20, 2**20)
    assert cache.bytes <= 8 * 2**20
    assert len(cache) == 7  # 7 x (1 MB + overhead) fit in 8 MB
    assert cache.get(("slot", 99)) is not None and cache.get(("slot", 0)) is None
    small = Memo(10 * ENTRY_OVERHEAD)
    for i in range(1000):
        small.put(i, i)
    assert len(small) == 10


def test_least_recently_used_goes_first_and_oversized_is_not_kept() -> None:
    cache = Memo(3 * (ENTRY_OVERHEAD + 10))
    for key in "abc":
        cache.put(key, key, 10)
    assert cache.get("a") == "a"  # now the most recent
    cache.put("d", "d", 10)
    assert cache.get("b") is None and cache.get("a") == "a"
    cache.put("huge", "h", 10**9)
    assert cache.get("huge") is None and len(cache) == 3
    cache.put("a", "again", 10)  # replacing an entry does not count it twice
    assert cache.bytes == 3 * (ENTRY_OVERHEAD + 10)


def test_short_texts_are_their_own_key() -> None:
    assert memo.text_key("short") == "short"
    long = "y" * 1000
    assert memo.text_key(long) == (hash(long), 1000)


def test_resent_history_is_a_lookup_and_clear_forgets_it() -> None:
    memo.clear()
    messages = [
        {"role": "user", "content": "Which rows failed?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "q", "arguments": "{}"}}
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "c",
            "content": "\n".join(
                f"row {i} status={'failed' if i % 97 == 0 else 'ok'}" for i in range(2000)
            ),
        },
    ]
    first = compress(messages)
    held = memo.slot_memo.bytes
    assert held > 0 and len(memo.count_memo) > 0
    again = compress(messages)
    assert again.messages == first.messages and memo.slot_memo.bytes == held
    memo.clear()
    assert memo.slot_memo.bytes == 0 and len(memo.count_memo) == 0
