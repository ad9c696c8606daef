"""`git log` output: every commit's header stays, file lists only where asked.

Each commit keeps its hash, author, date and subject; its `--stat` or
`--name-only` file lines are replaced by their count unless the request names
one of them. The full log is retrievable.
"""

from __future__ import annotations

import re

from headroom.core.heuristics import GITLOG_MIN_COMMITS, GITLOG_RELEVANT, GITLOG_RELEVANT_MAX_SHARE
from headroom.core.transforms.base import Compressed, Job, Transform, Units, marker

__all__ = ["GitLogTransform", "compress_gitlog", "split_commits"]

COMMIT = re.compile(r"^commit [0-9a-f]{7,40}\b", re.MULTILINE)
_HEADER = re.compile(r"^(?:commit |Author:|AuthorDate:|Commit:|CommitDate:|Date:|Merge:)")
_SUMMARY = re.compile(r"^\s*\d+ files? changed")


def split_commits(text: str) -> list[str]:
    """The log cut into one block per commit (anything before the first is its own block)."""
    starts = [m.start() for m in COMMIT.finditer(text)]
    if not starts:
        return [text]
    blocks = [text[: starts[0]]] if starts[0] else []
    blocks += [
        text[a:b].rstrip("\n") for a, b in zip(starts, [*starts[1:], len(text)], strict=True)
    ]
    return [b for b in blocks if b.strip()]


def _outline(block: str) -> tuple[str, int]:
    """The commit's header, subject and change summary; the number of file lines dropped."""
    kept: list[str] = []
    dropped = 0
    subject_seen = False
    for line in block.splitlines():
        if _HEADER.match(line) or _SUMMARY.match(line):
            kept.append(line)
        elif line.startswith("    ") and not subject_seen:
            kept.append(line)
            subject_seen = True
        elif line.strip() and not line.startswith("    "):
            dropped += 1
        elif line.strip():
            kept.append(line)  # the rest of the message
    if dropped:
        kept.append(f" ({dropped} file lines omitted)")
    return "\n".join(kept), dropped


def compress_gitlog(job: Job) -> Compressed | None:
    commits = split_commits(job.text)
    if len(commits) < GITLOG_MIN_COMMITS or not job.config.lossy:
        return None
    relevant = (
        set(
            job.relevance.top(
                commits, job.scaled(GITLOG_RELEVANT), max_share=GITLOG_RELEVANT_MAX_SHARE
            )
        )
        if job.relevance
        else set()
    )
    out: list[str] = []
    dropped_total = 0
    for i, block in enumerate(commits):
        if i in relevant:
            out.append(block)
            continue
        outline, dropped = _outline(block)
        out.append(outline)
        dropped_total += dropped
    if not dropped_total:
        return None
    summary = f"file lists of {len(commits) - len(relevant)} of {len(commits)} commits omitted"
    out.append(marker(summary, job.ccr_hash or None))
    return Compressed("\n\n".join(out), "gitlog:outline", lossy=True)


class GitLogTransform(Transform):
    """`git log` output: commits outlined, each commit a unit."""

    kind = "gitlog"

    def compress(self, job: Job) -> Compressed | None:
        return compress_gitlog(job)

    def units(self, text: str) -> Units:
        return Units.of(split_commits(text))
