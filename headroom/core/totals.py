"""Running savings totals that a wrapper and its copies share.

Every adapter counts the same four numbers over its lifetime (the names of
docs/options.md); this keeps them consistent across threads and tasks, and
picklable (the lock is not pickled, it is made anew).
"""

from __future__ import annotations

import threading

__all__ = ["TOTALS_KEYS", "SavingsTotals"]

#: The running totals every adapter keeps, in this order.
TOTALS_KEYS = ("requests", "tokens_before", "tokens_after", "tokens_saved")


class SavingsTotals:
    """Requests and tokens counted so far; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(TOTALS_KEYS, 0)

    def add(self, tokens_before: int, tokens_after: int) -> None:
        """Count one request that went from `tokens_before` to `tokens_after` tokens."""
        values = (1, tokens_before, tokens_after, max(0, tokens_before - tokens_after))
        with self._lock:
            for key, value in zip(TOTALS_KEYS, values, strict=True):
                self._counts[key] += value

    def snapshot(self) -> dict[str, int]:
        """The totals, as a new dict."""
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts = dict.fromkeys(TOTALS_KEYS, 0)

    def __getstate__(self) -> dict[str, int]:
        return self.snapshot()

    def __setstate__(self, state: dict[str, int]) -> None:
        self._lock = threading.Lock()
        self._counts = {key: int(state.get(key, 0)) for key in TOTALS_KEYS}
