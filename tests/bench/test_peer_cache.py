"""Reused peer results are keyed by everything that could change them."""

from __future__ import annotations

from pathlib import Path

from bench.peer_cache import PeerCache


def test_round_trip_and_key_invalidation(tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    case.write_text('{"id": "c"}', encoding="utf-8")
    store = tmp_path / "cache.json"
    cache = PeerCache(store, "1.0")
    key = cache.key(case, "gpt-4o", 5, [1, 3])
    cache.put("c", key, {"errors": [], "first_seen_s": 0.1}, "then")
    cache.save()

    again = PeerCache(store, "1.0")
    assert again.get("c", key) == ({"errors": [], "first_seen_s": 0.1}, "then")
    assert again.get("c", again.key(case, "gpt-4o", 3, [1, 3])) is None
    case.write_text('{"id": "c", "changed": true}', encoding="utf-8")
    assert again.get("c", again.key(case, "gpt-4o", 5, [1, 3])) is None
    assert PeerCache(store, "2.0").get("c", key) is None


def test_failed_runs_are_not_kept(tmp_path: Path) -> None:
    cache = PeerCache(tmp_path / "cache.json", "1.0")
    cache.put("c", "k", {"errors": ["timed out"]}, "then")
    assert cache.get("c", "k") is None
