"""Per-request metrics of `HeadroomClient`, persisted in SQLite.

One row per request: when, which model, tokens before and after, mode and
transforms. The file lives under a per-user data directory by default and is
created private (directory 0700, file 0600), because a metrics history says
which models an application uses and how much. It is separate from the CCR
store, which holds the originals of compressed content.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from headroom.exceptions import ConfigurationError, StorageError

__all__ = [
    "METRICS_FILE",
    "MetricsStore",
    "RequestMetrics",
    "default_data_dir",
    "default_store_url",
    "path_from_url",
]

#: The default metrics file name inside the data directory.
METRICS_FILE = "client_metrics.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS headroom_requests (
    request_id TEXT PRIMARY KEY,
    timestamp REAL NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    mode TEXT NOT NULL,
    stream INTEGER NOT NULL,
    tokens_input_before INTEGER NOT NULL,
    tokens_input_after INTEGER NOT NULL,
    tokens_saved INTEGER NOT NULL,
    savings_usd REAL,
    transforms TEXT NOT NULL,
    retrieve_calls INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS headroom_requests_time ON headroom_requests (timestamp);
"""

_COLUMNS = (
    "request_id, timestamp, provider, model, mode, stream, tokens_input_before, "
    "tokens_input_after, tokens_saved, savings_usd, transforms, retrieve_calls"
)


@dataclass(frozen=True)
class RequestMetrics:
    """What one request through `HeadroomClient` did.

    Attributes:
        request_id: A random id for the request.
        timestamp: When Headroom handled it (timezone-aware, UTC).
        provider: ``openai`` or ``anthropic``.
        model: The model asked for.
        mode: ``optimize`` (compressed messages sent) or ``audit`` (original sent).
        stream: Whether the response was streamed.
        tokens_input_before: Input tokens of the caller's messages.
        tokens_input_after: Input tokens after compression (what optimize sends).
        tokens_saved: ``tokens_input_before - tokens_input_after``; in audit
            mode what optimize *would* have saved.
        savings_usd: `tokens_saved` priced at the model's input price, or None.
        transforms: The transforms that ran.
        retrieve_calls: ``headroom_retrieve`` calls Headroom answered.
    """

    request_id: str
    timestamp: datetime
    provider: str
    model: str
    mode: str
    stream: bool
    tokens_input_before: int
    tokens_input_after: int
    tokens_saved: int
    savings_usd: float | None = None
    transforms: list[str] = field(default_factory=list)
    retrieve_calls: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (the timestamp as ISO 8601)."""
        data = dict(self.__dict__)
        data["timestamp"] = self.timestamp.isoformat()
        data["transforms"] = list(self.transforms)
        return data


def default_data_dir() -> Path:
    """Where Headroom keeps per-user data.

    ``HEADROOM_DATA_DIR`` if set, else ``$XDG_DATA_HOME/headroom``, else the
    platform's per-user data directory (``~/.local/share/headroom`` on Linux).
    """
    explicit = os.environ.get("HEADROOM_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec says to ignore relative values
        return Path(xdg) / "headroom"
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local")) / "headroom"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "headroom"
    return home / ".local" / "share" / "headroom"


def default_store_url() -> str:
    """The metrics store used when none is given: a SQLite file in the data directory."""
    return f"sqlite:///{(default_data_dir() / METRICS_FILE).resolve()}"


def path_from_url(store_url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL; None for ``sqlite:///:memory:``.

    Follows SQLAlchemy's spelling: ``sqlite:////abs/path.db`` is absolute,
    ``sqlite:///rel.db`` is relative to the working directory.

    Raises:
        ConfigurationError: not a ``sqlite:///`` URL.
    """
    prefix = "sqlite:///"
    if not isinstance(store_url, str) or not store_url.startswith(prefix):
        raise ConfigurationError(
            "store_url must look like 'sqlite:////absolute/path/metrics.db'",
            {"store_url": store_url},
        )
    rest = store_url[len(prefix) :]
    if rest in ("", ":memory:"):
        return None
    return Path(rest).expanduser().absolute()


def _utc_epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:  # naive datetimes are taken as UTC (datetime.utcnow())
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


class MetricsStore:
    """Request metrics in one SQLite file, readable by any process on the machine.

    The file is opened lazily, so a bad path surfaces in `check()` (and in
    `validate_setup()`), and as `StorageError` from reads, never from a request.

    Args:
        store_url: ``sqlite:////abs/path.db``, or ``sqlite:///:memory:`` to keep
            metrics only for this process.
    """

    def __init__(self, store_url: str) -> None:
        self.url = store_url
        self.path = path_from_url(store_url)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        try:
            if self.path is None:
                conn = sqlite3.connect(":memory:", check_same_thread=False)
            else:
                self._prepare_file(self.path)
                conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10.0)
                conn.execute("PRAGMA journal_mode=WAL")  # readers in other processes never block
                # WAL + NORMAL: no fsync per request (~7 ms -> well under 1 ms); a power
                # loss can drop the last rows of metrics, never corrupt the file.
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            conn.commit()
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(
                f"cannot open the metrics store {self.url}: {exc}", {"store_url": self.url}
            ) from exc
        self._conn = conn
        return conn

    @staticmethod
    def _prepare_file(path: Path) -> None:
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True)
        if not path.exists():
            # Create the file private before SQLite opens it (no world-readable window).
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        for suffix in ("-wal", "-shm"):
            sidecar = path.with_name(path.name + suffix)
            if sidecar.exists():
                with contextlib.suppress(OSError):
                    os.chmod(sidecar, 0o600)

    def check(self) -> None:
        """Open the store and prove it accepts a write (rolled back).

        Raises:
            StorageError: it cannot be opened or written.
        """
        with self._lock:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("DELETE FROM headroom_requests WHERE request_id = ''")
                conn.rollback()
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.rollback()
                raise StorageError(
                    f"the metrics store {self.url} is not writable: {exc}", {"store_url": self.url}
                ) from exc

    def record(self, metrics: RequestMetrics) -> None:
        """Append one request's metrics.

        Raises:
            StorageError: the write failed.
        """
        row = (
            metrics.request_id,
            _utc_epoch(metrics.timestamp),
            metrics.provider,
            metrics.model,
            metrics.mode,
            int(metrics.stream),
            metrics.tokens_input_before,
            metrics.tokens_input_after,
            metrics.tokens_saved,
            metrics.savings_usd,
            json.dumps(list(metrics.transforms)),
            metrics.retrieve_calls,
        )
        with self._lock:
            try:
                conn = self._connect()
                conn.execute(
                    f"INSERT INTO headroom_requests ({_COLUMNS}) VALUES ({'?,' * 11}?)", row
                )
                conn.commit()
            except sqlite3.Error as exc:
                raise StorageError(f"metrics write failed: {exc}", {"store_url": self.url}) from exc

    def _where(
        self, start_time: datetime | None, end_time: datetime | None
    ) -> tuple[str, list[float]]:
        clauses, args = [], []
        start, end = _utc_epoch(start_time), _utc_epoch(end_time)
        if start is not None:
            clauses.append("timestamp >= ?")
            args.append(start)
        if end is not None:
            clauses.append("timestamp < ?")
            args.append(end)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def query(
        self,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        limit: int | None = None,
    ) -> list[RequestMetrics]:
        """Records with ``start_time <= timestamp < end_time``, newest first.

        Raises:
            StorageError: the store cannot be read.
        """
        where, args = self._where(start_time, end_time)
        sql = f"SELECT {_COLUMNS} FROM headroom_requests{where} ORDER BY timestamp DESC"
        params: list[Any] = list(args)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(0, int(limit)))
        with self._lock:
            try:
                rows = self._connect().execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"metrics read failed: {exc}", {"store_url": self.url}) from exc
        return [_row_metrics(row) for row in rows]

    def summary(
        self, start_time: datetime | None = None, end_time: datetime | None = None
    ) -> dict[str, Any]:
        """Totals over the stored requests (optionally within a time range).

        Raises:
            StorageError: the store cannot be read.
        """
        where, args = self._where(start_time, end_time)
        sql = (
            "SELECT COUNT(*), COALESCE(SUM(tokens_input_before), 0), "
            "COALESCE(SUM(tokens_input_after), 0), COALESCE(SUM(tokens_saved), 0), "
            "COALESCE(SUM(savings_usd), 0.0), COALESCE(SUM(retrieve_calls), 0), "
            "MIN(timestamp), MAX(timestamp) "
            f"FROM headroom_requests{where}"
        )
        by_mode_sql = (
            f"SELECT mode, COUNT(*), SUM(tokens_saved) FROM headroom_requests{where} GROUP BY mode"
        )
        with self._lock:
            try:
                conn = self._connect()
                total = conn.execute(sql, args).fetchone()
                modes = conn.execute(by_mode_sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"metrics read failed: {exc}", {"store_url": self.url}) from exc
        count, before, after, saved, usd, retrieves, first, last = total
        return {
            "total_requests": int(count),
            "total_tokens_before": int(before),
            "total_tokens_after": int(after),
            "total_tokens_saved": int(saved),
            "savings_percent": round(100.0 * saved / before, 2) if before else 0.0,
            "total_savings_usd": float(usd),
            "retrieve_calls": int(retrieves),
            "by_mode": {m: {"requests": int(n), "tokens_saved": int(s or 0)} for m, n, s in modes},
            "first_request": _to_datetime(first).isoformat() if first is not None else None,
            "last_request": _to_datetime(last).isoformat() if last is not None else None,
            "store_url": self.url,
        }

    def close(self) -> None:
        """Close the connection (reopened on next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _to_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def _row_metrics(row: tuple[Any, ...]) -> RequestMetrics:
    try:
        transforms = json.loads(row[10])
    except ValueError:
        transforms = []
    return RequestMetrics(
        request_id=row[0],
        timestamp=_to_datetime(row[1]),
        provider=row[2],
        model=row[3],
        mode=row[4],
        stream=bool(row[5]),
        tokens_input_before=int(row[6]),
        tokens_input_after=int(row[7]),
        tokens_saved=int(row[8]),
        savings_usd=None if row[9] is None else float(row[9]),
        transforms=[str(t) for t in transforms] if isinstance(transforms, list) else [],
        retrieve_calls=int(row[11]),
    )
