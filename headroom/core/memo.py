"""In-process memos that make re-sent history cost a lookup.

An agent re-sends its whole history on every call. Each slot's compressed
bytes depend only on its own text and what preceded it, so they are computed
once and looked up afterwards; token counts and CCR hashes likewise. The memos
are bounded by an estimate of the bytes they hold (not by entries: one entry
may hold a 1 MB output, another a single integer), evicting the least recently
used entries first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from headroom.core.ccr import content_hash
from headroom.core.tokens import TokenCounter

__all__ = [
    "COUNT_MEMO_BYTES",
    "ENTRY_OVERHEAD",
    "SLOT_MEMO_BYTES",
    "Memo",
    "TextKey",
    "ccr_hash",
    "clear",
    "count_memo",
    "count_tokens",
    "slot_memo",
    "text_key",
]

#: Slot outcomes hold compressed texts; 64 MB keeps the history of dozens of
#: long agent sessions (a 128k-token window is ~0.5 MB of text) in one process.
SLOT_MEMO_BYTES = 64 * 2**20
#: Counts and hashes are small (~170 bytes an entry with its key); 32 MB is ~200k
#: entries, the pieces of a 100,000-message request (16 MB evicted its first
#: messages' counts before the window stage asked for them again).
COUNT_MEMO_BYTES = 32 * 2**20
#: What a dict entry, its tuple key and a small value cost in CPython, roughly.
ENTRY_OVERHEAD = 160
#: Texts shorter than this are keyed by their own value (hashing them is as cheap
#: as hashing a key); longer ones by (hash, length) so the key holds no copy.
_SHORT = 64

TextKey = tuple[int, int] | str


class Memo:
    """A thread-safe LRU bounded by the bytes its entries are estimated to hold."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The value under `key`, or None.

        Lock-free: a dict read and `move_to_end` are each atomic, and a key
        evicted in between only loses its recency.
        """
        item = self._data.get(key)
        if item is None:
            return None
        try:  # noqa: SIM105 - the hot path of a re-sent history; suppress() costs more
            self._data.move_to_end(key)
        except KeyError:
            pass
        return item[0]

    def put(self, key: Hashable, value: Any, size: int = 0) -> None:
        """Keep `value`; `size` is what it holds beyond a fixed entry overhead."""
        cost = ENTRY_OVERHEAD + max(0, size)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if cost > self.max_bytes:
                return  # larger than the whole memo: not worth evicting everything for
            self._data[key] = (value, cost)
            self._bytes += cost
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._data.popitem(last=False)
                self._bytes -= dropped

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any], size: int = 0) -> Any:
        """The memoized value, computing (outside the lock) and keeping it when absent."""
        value = self.get(key)
        if value is None:
            value = compute()
            self.put(key, value, size)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0

    @property
    def bytes(self) -> int:
        """Estimated bytes held."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._data)


slot_memo = Memo(SLOT_MEMO_BYTES)
count_memo = Memo(COUNT_MEMO_BYTES)


def clear() -> None:
    """Forget everything (tests use it to measure a first-seen compression)."""
    slot_memo.clear()
    count_memo.clear()


def text_key(text: str) -> TextKey:
    """An in-process memo key for a text: str caches its hash, so a re-sent
    history is keyed without reading its bytes again (a digest would)."""
    return text if len(text) < _SHORT else (hash(text), len(text))


def ccr_hash(text: str) -> str:
    """`content_hash(text)`, memoized."""
    # One flat key tuple per lookup (not a key holding a `text_key` tuple): a
    # re-sent history makes ~10 lookups per message.
    key = ("ccr", text) if len(text) < _SHORT else ("ccr", hash(text), len(text))
    cached = count_memo.get(key)
    if cached is None:
        cached = content_hash(text)
        count_memo.put(key, cached, 16)
    return str(cached)


def count_tokens(text: str, count: TokenCounter, counter_id: str) -> int:
    """`count(text)`, memoized per counter."""
    key = (counter_id, text) if len(text) < _SHORT else (counter_id, hash(text), len(text))
    cached = count_memo.get(key)
    if cached is None:
        cached = count(text)
        count_memo.put(key, cached, len(text) if len(text) < _SHORT else 0)
    return int(cached)
