"""A CCR store as the server uses it: every call bounded in time, failures counted.

A store that hangs (a frozen Redis) must not stall requests: each call runs
with a deadline, and after a failure the store is treated as down for a short
cool-down, during which calls fail at once and requests compress losslessly
(nothing lossy is sent without its original stored). Failures are counted for
``/stats`` and ``/metrics`` and logged as one warning per interval, never one
traceback per request.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable

from headroom.core.store import CCRStore, InMemoryStore
from headroom.exceptions import StorageError

__all__ = ["GuardedStore"]

logger = logging.getLogger("headroom.server")

# How long a failed store is left alone before it is tried again: long enough
# that a dead store costs one deadline per interval, short enough to notice recovery.
COOL_DOWN_SECONDS = 2.0
# At most one warning per this many seconds; the rest are counted.
WARN_EVERY_SECONDS = 30.0
# Threads that may wait on a slow store at once; more calls fail fast instead.
_WORKERS = 8
_PROBE_KEY = "headroom:probe"


class GuardedStore(CCRStore):
    """Wraps a store: calls bounded by `timeout`, failures counted and rate-limited in logs."""

    def __init__(self, inner: CCRStore, timeout: float) -> None:
        self.inner = inner
        self.timeout = timeout
        self.write_failures = 0
        self.read_failures = 0
        self._down_until = 0.0
        self._last_warning = 0.0
        self._suppressed = 0
        self._suspect = False  # failed before; probe before trusting it again
        self._lock = threading.Lock()
        # An in-process store never blocks on I/O: call it directly.
        self._pool = (
            None
            if isinstance(inner, InMemoryStore)
            else concurrent.futures.ThreadPoolExecutor(_WORKERS, thread_name_prefix="ccr-store")
        )

    @property
    def down(self) -> bool:
        """Whether the store failed within the last cool-down."""
        return time.monotonic() < self._down_until

    @property
    def suspect(self) -> bool:
        """Whether the store failed since it last worked (down, or not yet probed)."""
        return self._suspect

    def available(self) -> bool:
        """Whether lossy compression may count on the store now (blocks up to `timeout`).

        After an outage the store is probed with a small write of the server's
        own before requests rely on it again, so a store that is still down
        costs one bounded probe per cool-down instead of a failure inside every
        request's compression.
        """
        if self.down:
            return False
        if not self._suspect:
            return True
        try:
            self._call("write", True, self.inner.put, _PROBE_KEY, "ok")
        except StorageError:
            return False
        self._suspect = False
        return True

    def _failed(self, what: str, exc: BaseException, *, write: bool) -> StorageError:
        now = time.monotonic()
        with self._lock:
            if write:
                self.write_failures += 1
            else:
                self.read_failures += 1
            self._down_until = now + COOL_DOWN_SECONDS
            self._suspect = True
            warn = now - self._last_warning >= WARN_EVERY_SECONDS
            if warn:
                self._last_warning, suppressed, self._suppressed = now, self._suppressed, 0
            else:
                self._suppressed += 1
        if warn:
            logger.warning(
                "headroom: CCR store %s failed (%s: %s); compressing losslessly while it is down%s",
                what,
                type(exc).__name__,
                exc,
                f" ({suppressed} similar failures not logged)" if suppressed else "",
            )
        return StorageError(f"CCR store {what} failed: {type(exc).__name__}")

    def _call(self, what: str, write: bool, fn: Callable[..., object], *args: str) -> object:
        if self.down:
            raise StorageError(f"CCR store is down (retrying in {COOL_DOWN_SECONDS:g}s)")
        try:
            if self._pool is None:
                return fn(*args)
            return self._pool.submit(fn, *args).result(timeout=self.timeout)
        except concurrent.futures.TimeoutError as exc:
            raise self._failed(
                what, TimeoutError(f"no answer in {self.timeout:g}s"), write=write
            ) from exc
        except Exception as exc:
            raise self._failed(what, exc, write=write) from exc

    def put(self, key: str, original: str) -> None:
        self._call("write", True, self.inner.put, key, original)

    def get(self, key: str) -> str | None:
        value = self._call("read", False, self.inner.get, key)
        return value if isinstance(value, str) else None

    def ping(self) -> bool:
        """Whether the store answers within the deadline (True for stores without `ping`)."""
        ping = getattr(self.inner, "ping", None)
        if ping is None:
            return True
        if self._pool is None:
            return bool(ping())
        try:
            return bool(self._pool.submit(ping).result(timeout=self.timeout))
        except Exception:
            return False

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.inner.close()
