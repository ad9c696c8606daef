"""Running totals a wrapper shares with its copies, across threads and async tasks."""

from __future__ import annotations

import threading
from collections.abc import Mapping

__all__ = ["Counters"]


class Counters:
    """Named integer totals, safe to add to from any thread; pickled without their lock."""

    def __init__(self, *names: str) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(names, 0)

    def add(self, values: Mapping[str, int]) -> None:
        """Add each value to the total of the same name (new names start at zero)."""
        with self._lock:
            for name, value in values.items():
                self._counts[name] = self._counts.get(name, 0) + value

    def snapshot(self) -> dict[str, int]:
        """The totals now, as a new dict."""
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        """Every total back to zero."""
        with self._lock:
            self._counts = dict.fromkeys(self._counts, 0)

    def __getstate__(self) -> dict[str, int]:
        return self.snapshot()

    def __setstate__(self, state: dict[str, int]) -> None:
        self._lock = threading.Lock()
        self._counts = dict(state)
