"""A persistent CCR store in one SQLite file, for a single machine.

Originals survive a restart and can be shared by several server processes on
the same host (WAL mode); entries expire after a TTL measured in wall-clock
time, so an expired original is never returned even after a restart. Text is
stored as UTF-8 bytes with surrogates passed through, like the core's hashes.

The originals are whatever agents read (logs, files, query results), so the
file is created readable by its owner only (0600) in a directory only its
owner can enter (0700, when the store creates it), and its size is capped:
past `max_bytes` the entries closest to expiry go first.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

from headroom.core.store import CCRStore
from headroom.exceptions import StorageError

__all__ = ["SQLiteStore"]

logger = logging.getLogger("headroom.stores")

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
        max_bytes: Total bytes of originals kept; the soonest-expiring go first past it.
    """

    def __init__(
        self,
        path: str | Path,
        ttl_seconds: float = 6 * 3600,
        purge_every: int = 256,
        max_bytes: int = 512 * 2**20,
    ) -> None:
        self.path = Path(path)
        self.ttl_seconds = ttl_seconds
        self.purge_every = max(1, purge_every)
        self.max_bytes = max_bytes
        self.evictions = 0
        self._writes = 0
        self._lock = threading.Lock()
        try:
            _private_file(self.path)
            # One connection guarded by a lock: sqlite3 objects are not safe to
            # use from two threads at once, and the server calls from a pool.
            self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10.0)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)
            self._conn.execute(
                "CREATE INDEX IF NOT EXISTS headroom_ccr_expiry ON headroom_ccr (expires_at)"
            )
            self._conn.execute("DELETE FROM headroom_ccr WHERE expires_at < ?", (time.time(),))
            self._conn.commit()
            self._bytes = self._stored_bytes()
            for suffix in ("-wal", "-shm"):  # SQLite's side files hold the same data
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    os.chmod(side, 0o600)
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"cannot open SQLite CCR store at {self.path}: {exc}") from exc

    def _stored_bytes(self) -> int:
        row = self._conn.execute("SELECT COALESCE(SUM(LENGTH(original)), 0) FROM headroom_ccr")
        return int(row.fetchone()[0])

    def put(self, key: str, original: str) -> None:
        expires = time.time() + self.ttl_seconds
        data = original.encode("utf-8", "surrogatepass")
        try:
            with self._lock:
                old = self._conn.execute(
                    "SELECT LENGTH(original) FROM headroom_ccr WHERE key = ?", (key,)
                ).fetchone()
                self._conn.execute(
                    "INSERT OR REPLACE INTO headroom_ccr (key, original, expires_at) VALUES (?, ?, ?)",
                    (key, data, expires),
                )
                self._bytes += len(data) - (int(old[0]) if old else 0)
                self._writes += 1
                if self._writes % self.purge_every == 0 or self._bytes > self.max_bytes:
                    self._conn.execute(
                        "DELETE FROM headroom_ccr WHERE expires_at < ?", (time.time(),)
                    )
                    self._bytes = self._stored_bytes()  # also counts other processes' writes
                while self._bytes > self.max_bytes:
                    dropped = self._conn.execute(
                        "DELETE FROM headroom_ccr WHERE key IN (SELECT key FROM headroom_ccr"
                        " WHERE key != ? ORDER BY expires_at LIMIT 64)",
                        (key,),
                    ).rowcount
                    if dropped <= 0:
                        break
                    self.evictions += dropped
                    self._bytes = self._stored_bytes()
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

    @property
    def bytes_used(self) -> int:
        """Bytes of originals held (as last counted)."""
        return self._bytes

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _private_file(path: Path) -> None:
    """Create `path` (0600) and any missing parent directories (0700) for it."""
    missing = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700)
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
    if path.parent.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO) and not missing:
        logger.warning(
            "headroom: the CCR store's directory %s is open to other users; "
            "originals are kept in files readable by their owner only",
            path.parent,
        )
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
