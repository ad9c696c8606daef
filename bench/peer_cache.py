"""Reusing headroom-ai's raw results between runs (``--reuse-peer``).

The peer is pinned, so while the core is being tuned its outputs only change if
the case, the runner or the run settings change: all of these go into the key.
Its latency figures then come from the earlier run, which the report says.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = ["PeerCache"]

_RUNNER = Path(__file__).resolve().parent / "peer_runner.py"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class PeerCache:
    """Raw peer results by case, in one JSON file."""

    def __init__(self, path: Path, version: str) -> None:
        self.path = path
        self.version = version
        self._entries: dict[str, Any] = {}
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            if isinstance(data, dict) and data.get("version") == version:
                self._entries = dict(data.get("cases", {}))

    def key(self, case_path: Path, model: str, repeats: int, points: list[int]) -> str:
        material = [self.version, _sha256(case_path), _sha256(_RUNNER), model, repeats, points]
        return hashlib.sha256(json.dumps(material).encode()).hexdigest()

    def get(self, case_id: str, key: str) -> tuple[dict[str, Any], str] | None:
        """The cached raw result and when it was measured, if the key still matches."""
        entry = self._entries.get(case_id)
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        return entry["raw"], str(entry.get("measured", "?"))

    def put(self, case_id: str, key: str, raw: dict[str, Any], measured: str) -> None:
        if raw.get("errors"):
            return  # never pin a failed or timed-out run
        self._entries[case_id] = {"key": key, "raw": raw, "measured": measured}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"version": self.version, "cases": self._entries}
        self.path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
