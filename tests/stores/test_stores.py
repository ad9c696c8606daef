"""SQLite and Redis CCR stores: the `CCRStore` contract, TTLs, persistence, failures."""

from __future__ import annotations

import importlib
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from headroom import compress, retrieve
from headroom.core.store import CCRStore, InMemoryStore, ScopedStore
from headroom.exceptions import ConfigurationError, StorageError
from headroom.stores import SQLiteStore, open_store
from tests.conftest import case

TEXT = "line one\nünïcödé ✓ \U0001f600 and a lone surrogate \udc80\n" * 50


def contract(store: CCRStore) -> None:
    key = uuid.uuid4().hex[:16]
    assert store.get(key) is None
    store.put(key, TEXT)
    assert store.get(key) == TEXT
    store.put(key, TEXT)  # idempotent
    assert store.get(key) == TEXT
    scoped_a, scoped_b = ScopedStore(store, "a"), ScopedStore(store, "b")
    scoped_a.put(key, "only a")
    assert scoped_a.get(key) == "only a" and scoped_b.get(key) is None and store.get(key) == TEXT


def test_sqlite_contract_and_persistence(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "ccr.db"
    store = open_store(f"sqlite:{path}")
    assert isinstance(store, SQLiteStore)
    contract(store)
    store.put("0123456789abcdef", "kept across restarts")
    store.close()
    reopened = SQLiteStore(path)
    assert reopened.get("0123456789abcdef") == "kept across restarts"
    assert len(reopened) >= 2
    reopened.close()


def test_sqlite_entries_expire(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "ccr.db", ttl_seconds=0.2, purge_every=1)
    store.put("aaaaaaaaaaaaaaaa", "soon gone")
    assert store.get("aaaaaaaaaaaaaaaa") == "soon gone"
    time.sleep(0.3)
    assert store.get("aaaaaaaaaaaaaaaa") is None
    store.put("bbbbbbbbbbbbbbbb", "fresh")  # purges expired rows
    assert len(store) == 1
    store.close()


def test_sqlite_is_safe_from_many_threads_and_two_handles(tmp_path: Path) -> None:
    path = tmp_path / "ccr.db"
    first, second = SQLiteStore(path), SQLiteStore(path)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                (first if i % 2 else second).put(f"{n:08x}{i:08x}", f"value {n} {i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert all(
        first.get(f"{n:08x}{i:08x}") == f"value {n} {i}" for n in range(8) for i in range(50)
    )
    first.close()
    second.close()


def test_sqlite_errors_are_storage_errors(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "ccr.db")
    store.close()
    with pytest.raises(StorageError):
        store.put("aaaaaaaaaaaaaaaa", "x")
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError):
        SQLiteStore(blocker / "ccr.db")


def test_compress_and_retrieve_through_a_sqlite_store(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "ccr.db")
    data = case("p-logs-apache")
    result = compress(data["messages"], store=store)
    assert result.ccr_hashes
    assert retrieve(result.ccr_hashes[0], store=store) == data["messages"][-1]["content"]
    store.close()


def test_redis_contract_ttl_and_sharing(redis_url: str) -> None:
    from headroom.stores.redis import RedisStore

    store = open_store(redis_url, ttl_seconds=120)
    assert isinstance(store, RedisStore) and store.ping()
    contract(store)
    other = RedisStore(redis_url)  # another replica's connection sees the same originals
    store.put("cccccccccccccccc", "shared")
    assert other.get("cccccccccccccccc") == "shared"
    ttl = store._client.ttl("headroom:ccr:cccccccccccccccc")
    assert 0 < ttl <= 120
    prefixed = RedisStore(redis_url, prefix="elsewhere:")
    assert prefixed.get("cccccccccccccccc") is None
    short = RedisStore(redis_url, ttl_seconds=1)
    short.put("dddddddddddddddd", "brief")
    assert short.get("dddddddddddddddd") == "brief"
    time.sleep(1.3)
    assert short.get("dddddddddddddddd") is None
    for s in (store, other, prefixed, short):
        s.close()


def test_redis_down_raises_storage_error_and_ping_is_false() -> None:
    pytest.importorskip("redis")
    from headroom.stores.redis import RedisStore
    from tests.server.support import free_port

    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.5)
    assert store.ping() is False
    with pytest.raises(StorageError):
        store.put("eeeeeeeeeeeeeeee", "x")
    with pytest.raises(StorageError):
        store.get("eeeeeeeeeeeeeeee")


def test_redis_store_without_the_client_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.delitem(sys.modules, "headroom.stores.redis", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'headroom\[redis\]'") as info:
        importlib.import_module("headroom.stores.redis")
    assert info.value.__cause__ is not None
    with pytest.raises(ImportError, match=r"headroom\[redis\]"):
        open_store("redis://127.0.0.1:1/0")


@pytest.mark.parametrize("spec", ["", "memory", " memory "])
def test_memory_is_the_default_and_touches_no_disk(spec: str) -> None:
    assert isinstance(open_store(spec), InMemoryStore)


@pytest.mark.parametrize("spec", ["postgres://x", "sqlite:", "file.db"])
def test_unknown_store_specs_are_configuration_errors(spec: str) -> None:
    with pytest.raises(ConfigurationError):
        open_store(spec)


def test_ttl_must_be_positive() -> None:
    with pytest.raises(ConfigurationError):
        open_store("memory", ttl_seconds=0)


def test_sqlite_triple_slash_path(tmp_path: Path) -> None:
    store = open_store(f"sqlite://{tmp_path}/x.db")
    assert isinstance(store, SQLiteStore) and store.path == tmp_path / "x.db"
    store.close()


def test_memory_store_budget_counts_utf8_bytes_not_characters() -> None:
    four_byte = "\U0001f600" * 1000  # 1,000 characters, 4,000 bytes
    store = InMemoryStore(max_entries=1000, max_bytes=10_000)
    for i in range(10):
        store.put(f"k{i}", four_byte)
    assert store.bytes_used <= 10_000
    assert len(store) == 2  # 2 x 4,000 bytes fit; a character count would have kept all 10
    assert store.get("k9") == four_byte and store.get("k0") is None


def test_memory_store_namespaces_have_their_own_budgets() -> None:
    store = InMemoryStore(max_entries=100, max_bytes=10**6, namespace_max_entries=3)
    a, b = ScopedStore(store, "t:a"), ScopedStore(store, "t:b")
    a.put("a1", "kept")
    for i in range(50):
        b.put(f"b{i}", "flood")
    assert a.get("a1") == "kept"
    assert store.namespace_usage("t:b")[0] == 3 and b.get("b49") == "flood"
    assert b.get("b0") is None and store.evictions == 47


def test_memory_store_over_its_total_budget_takes_from_the_largest_namespace() -> None:
    store = InMemoryStore(max_entries=100, max_bytes=1000)
    a, b = ScopedStore(store, "t:a"), ScopedStore(store, "t:b")
    a.put("a1", "x" * 100)
    for i in range(20):
        b.put(f"b{i}", "y" * 100)
    assert a.get("a1") == "x" * 100
    assert store.bytes_used <= 1000


def test_sqlite_file_is_private_capped_and_expires(tmp_path: Path) -> None:
    import os
    import stat

    path = tmp_path / "private" / "deeper" / "ccr.db"
    store = SQLiteStore(path, ttl_seconds=0.3, max_bytes=50_000, purge_every=1)
    store.put("aaaaaaaaaaaaaaaa", "secret log " * 100)
    for p in (path, *path.parent.glob("ccr.db-*")):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, p
    for d in (path.parent, path.parent.parent):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700, d
    for i in range(100):  # 100 x 1,000 bytes against a 50,000-byte cap
        store.put(f"{i:016x}", "z" * 1000)
    assert store.bytes_used <= 50_000 and store.evictions > 0
    assert store.get(f"{99:016x}") == "z" * 1000
    time.sleep(0.4)
    assert store.get(f"{99:016x}") is None
    store.put("bbbbbbbbbbbbbbbb", "after expiry")
    store.close()
    import sqlite3

    with sqlite3.connect(path) as conn:  # expired rows are purged, not only hidden
        assert conn.execute("SELECT COUNT(*) FROM headroom_ccr").fetchone()[0] == 1
