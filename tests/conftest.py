"""Shared fixtures: the real-world corpus of tool outputs with their needles."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path:
    """../shared/corpus beside the checkout, else the samples bundled for the demo."""
    env = os.environ.get("HEADROOM_CORPUS")
    for candidate in (Path(env) if env else None, ROOT.parent / "shared" / "corpus"):
        if candidate is not None and candidate.is_dir():
            return candidate
    return ROOT / "headroom" / "demo_data"


def load_cases() -> list[dict[str, Any]]:
    return [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted(corpus_dir().glob("p-*.json"))
    ]


def case(case_id: str) -> dict[str, Any]:
    for path in (
        corpus_dir() / f"{case_id}.json",
        ROOT / "headroom" / "demo_data" / f"{case_id}.json",
    ):
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    pytest.skip(f"corpus case {case_id} not available")


def _strings(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, out)


def needle_present(needle: str, messages: list[dict[str, Any]]) -> bool:
    """The corpus rule: present anywhere in message text, tool results or call arguments;
    whitespace runs equal; the JSON-escaped form also counts."""
    texts: list[str] = []
    _strings(messages, texts)
    blob = re.sub(r"\s+", " ", "\n".join(texts))
    wanted = re.sub(r"\s+", " ", needle)
    escaped = json.dumps(wanted, ensure_ascii=False)[1:-1]
    if wanted.isdigit():
        return re.search(rf"(?<!\d){re.escape(wanted)}(?!\d)", blob) is not None
    return wanted in blob or escaped in blob
