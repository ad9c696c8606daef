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


CORPUS_HINT = (
    "the test corpus must be at {where} (the shared corpus beside the checkout), "
    "or named by the HEADROOM_CORPUS environment variable"
)


def _corpus_candidate() -> Path:
    env = os.environ.get("HEADROOM_CORPUS")
    return Path(env) if env else ROOT.parent / "shared" / "corpus"


def corpus_dir() -> Path:
    """../shared/corpus beside the checkout, or $HEADROOM_CORPUS; fails when absent, so a
    missing corpus is never mistaken for passing tests."""
    candidate = _corpus_candidate()
    if not candidate.is_dir() or not any(candidate.glob("p-*.json")):
        pytest.fail(CORPUS_HINT.format(where=candidate), pytrace=False)
    return candidate


def load_cases() -> list[dict[str, Any]]:
    return [
        json.loads(p.read_text(encoding="utf-8")) for p in sorted(corpus_dir().glob("p-*.json"))
    ]


def case(case_id: str) -> dict[str, Any]:
    """One corpus case; the few bundled for the demo are found even without the corpus."""
    for path in (
        _corpus_candidate() / f"{case_id}.json",
        ROOT / "headroom" / "demo_data" / f"{case_id}.json",
    ):
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    pytest.fail(
        f"corpus case {case_id} not found; " + CORPUS_HINT.format(where=_corpus_candidate()),
        pytrace=False,
    )


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
