"""A persistent CCR store in one SQLite file, for a single machine.

Originals survive a restart and can be shared by several server processes on
the same host (WAL mode); entries expire after a TTL measured in wall-clock
time, so an expired original is never returned even after a restart. Text is
stored as UTF-8 bytes with surrogates passed through, like the core's hashes.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from headroom.core.store import CCRStore
from headroom.exceptions import StorageError

__all__ = ["SQLiteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS headroom_ccr (
    key TEXT PRIMARY KEY,
    original BLOB NOT NULL,
    expires_at REAL NOT NULL
)
"""


class SQLiteStore(CCRStore):
    """Originals in a SQLite table with a time-to-live.

    Args:
        path: Database file (created with its parent directory if missing).
        ttl_seconds: How long an original can be retrieved after it was stored.
        purge_every: Expired rows are deleted once every this many writes.
    """

    def __init__(
        self, path: str | Path, ttl_seconds: float = 6 * 3600, purge_every: int = 256
    ) -> None:
        self.path = Path(path)
        self.ttl_seconds = ttl_seconds
        self.purge_every = max(1, purge_every)
        self._writes = 0
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One connection guarded by a lock: sqlite3 objects are not safe to
            # use from two threads at once, and the server calls from a pool.
            self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10.0)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)
            self._conn.commit()
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"cannot open SQLite CCR store at {self.path}: {exc}") from exc

    def put(self, key: str, original: str) -> None:
        expires = time.time() + self.ttl_seconds
        try:
            with self._lock:
                self._conn.execute(
                    "INSERT OR REPLACE INTO headroom_ccr (key, original, expires_at) VALUES (?, ?, ?)",
                    (key, original.encode("utf-8", "surrogatepass"), expires),
                )
                self._writes += 1
                if self._writes % self.purge_every == 0:
                    self._conn.execute(
                        "DELETE FROM headroom_ccr WHERE expires_at < ?", (time.time(),)
                    )
                self._conn.commit()
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite CCR store write failed: {exc}") from exc

    def get(self, key: str) -> str | None:
        try:
            with self._lock:
                row = self._conn.execute(
                    "SELECT original, expires_at FROM headroom_ccr WHERE key = ?", (key,)
                ).fetchone()
                if row is None:
                    return None
                original, expires = row
                if expires < time.time():
                    self._conn.execute("DELETE FROM headroom_ccr WHERE key = ?", (key,))
                    self._conn.commit()
                    return None
                return bytes(original).decode("utf-8", "surrogatepass")
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite CCR store read failed: {exc}") from exc

    def __len__(self) -> int:
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM headroom_ccr WHERE expires_at >= ?", (time.time(),)
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
