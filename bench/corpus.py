"""Loading the benchmark corpus (``../shared/corpus`` by default).

Each case is one JSON file; see the corpus README for the format. Anthropic-format
cases keep their system prompt in a top-level ``system`` field, which the
benchmark sends unchanged next to the compressed messages.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "BUNDLED_CASES",
    "CORPUS_ENV",
    "Case",
    "default_corpus_dir",
    "load_case",
    "load_cases",
    "model_for_case",
]

#: Environment variable naming the corpus directory (``--corpus`` wins over it).
CORPUS_ENV = "HEADROOM_CORPUS"

REPO_ROOT = Path(__file__).resolve().parent.parent

#: The model each format is compressed for; token totals are always counted with o200k.
_FORMAT_MODELS = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4-5-20250929"}


@dataclass(frozen=True)
class Case:
    """One benchmark case: a request as it reaches the compressor, and its needles."""

    id: str
    category: str
    format: str
    layout: str
    messages: list[dict[str, Any]]
    needles: list[str]
    question: str = ""
    system: Any = None
    subcategory: str = ""
    tools: list[str] = field(default_factory=list)
    path: Path | None = None

    @property
    def model(self) -> str:
        return model_for_case(self)


def model_for_case(case: Case) -> str:
    """The model name both engines compress this case for."""
    return _FORMAT_MODELS.get(case.format, "gpt-4o")


#: The five corpus cases bundled with the package for ``headroom demo``: what the benchmark
#: falls back to in a checkout without ``../shared/corpus``.
BUNDLED_CASES = REPO_ROOT / "headroom" / "demo_data"


def default_corpus_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``explicit``, else ``$HEADROOM_CORPUS``, else ``../shared/corpus`` next to the repo.

    Without any of them (a fresh clone), the cases bundled for the demo, with a note on
    stderr saying what a full run needs. An explicit directory that does not exist is an
    error (`SystemExit` with one line), not a silent fallback.
    """
    if explicit:
        chosen = Path(explicit).resolve()
    elif os.environ.get(CORPUS_ENV):
        chosen = Path(os.environ[CORPUS_ENV]).resolve()
    else:
        shared = (REPO_ROOT.parent / "shared" / "corpus").resolve()
        if shared.is_dir():
            return shared
        print(
            f"bench: {shared} not found; running on the {len(list(BUNDLED_CASES.glob('p-*.json')))} "
            f"cases bundled in {BUNDLED_CASES}. For the full corpus, "
            f"put it at {shared} or pass --corpus DIR (or set ${CORPUS_ENV}).",
            file=sys.stderr,
        )
        return BUNDLED_CASES
    if not chosen.is_dir():
        raise SystemExit(f"bench: corpus directory {chosen} does not exist")
    return chosen


def load_case(path: Path) -> Case:
    """Parse one case file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return Case(
        id=str(data["id"]),
        category=str(data["category"]),
        format=str(data.get("format", "openai")),
        layout=str(data.get("layout", "")),
        messages=list(data["messages"]),
        needles=[str(n) for n in data.get("needles", [])],
        question=str(data.get("question", "")),
        system=data.get("system"),
        subcategory=str(data.get("subcategory", "")),
        tools=[str(t) for t in data.get("tools", [])],
        path=path,
    )


def load_cases(corpus_dir: Path, only: Iterable[str] | None = None) -> list[Case]:
    """All cases in ``corpus_dir`` sorted by id, optionally only the ids in ``only``."""
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"corpus directory not found: {corpus_dir}")
    wanted = set(only or ())
    cases = [load_case(p) for p in sorted(corpus_dir.glob("*.json"))]
    if wanted:
        missing = wanted - {c.id for c in cases}
        if missing:
            raise KeyError(f"unknown case ids: {', '.join(sorted(missing))}")
        cases = [c for c in cases if c.id in wanted]
    return cases
