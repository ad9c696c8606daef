"""grep/search output: hoist each file path once; keep the matches that matter.

`path:line:text` lines are grouped under their path (lossless). When there
are many matches, each file keeps its first matches and every match the
request names; the rest are counted per file and retrievable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from headroom.core.transforms.base import Compressed, Job, marker

__all__ = ["compress_grep", "parse_grep"]

_LINE = re.compile(r"^(?:\./)?(?P<path>[^\s:]+?)(?P<sep>[:-])(?P<num>\d+)(?P=sep)(?P<text>.*)$")
_PER_FILE = 2
_MIN_MATCHES_FOR_SELECTION = 40


@dataclass(frozen=True)
class Match:
    path: str
    number: str
    sep: str
    text: str
    raw: str


def parse_grep(text: str) -> list[Match | str]:
    """Matches, with any line that is not one (e.g. `--` separators) kept as text."""
    out: list[Match | str] = []
    for raw in text.splitlines():
        m = _LINE.match(raw)
        out.append(Match(m["path"], m["num"], m["sep"], m["text"], raw) if m else raw)
    return out


def compress_grep(job: Job) -> Compressed | None:
    items = parse_grep(job.text)
    matches = [x for x in items if isinstance(x, Match)]
    if len(matches) < 3:
        return None
    lossy = job.config.lossy and len(matches) >= _MIN_MATCHES_FOR_SELECTION
    keep: set[int] = set(range(len(items)))
    if lossy:
        keep = _select(items, job)
    out: list[str] = []
    current: str | None = None
    omitted_by_path: dict[str, int] = {}
    for i, item in enumerate(items):
        if isinstance(item, str):
            if item.strip() and item.strip() != "--":  # prose around the matches stays
                out.append(item)
            continue
        if i not in keep:
            omitted_by_path[item.path] = omitted_by_path.get(item.path, 0) + 1
            continue
        if item.path != current:
            current = item.path
            out.append(f"{item.path}:")
        sep = "" if item.sep == ":" else "-"
        out.append(f"  {sep}{item.number}:{item.text}")
    if not lossy or not omitted_by_path:
        return Compressed("\n".join(out), "grep:hoist")
    omitted = sum(omitted_by_path.values())
    per_file = ", ".join(
        f"{p} {n}" for p, n in sorted(omitted_by_path.items(), key=lambda kv: -kv[1])[:12]
    )
    summary = f"{omitted} of {len(matches)} matches omitted (per file: {per_file})"
    out.append(marker(summary, job.ccr_hash or None))
    return Compressed("\n".join(out), "grep:select", lossy=True)


def _select(items: list[Match | str], job: Job) -> set[int]:
    keep: set[int] = set()
    per_file: dict[str, int] = {}
    limit = job.scaled(_PER_FILE)
    for i, item in enumerate(items):
        if isinstance(item, Match):
            seen = per_file.get(item.path, 0)
            if seen < limit:
                keep.add(i)
            per_file[item.path] = seen + 1
    if job.relevance:
        texts = [x.raw if isinstance(x, Match) else x for x in items]
        keep.update(job.relevance.top(texts, job.scaled(10), max_share=0.05))
    return keep
