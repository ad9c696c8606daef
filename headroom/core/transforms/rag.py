"""Retrieved passages: keep the ones the request matches, outline the rest."""

from __future__ import annotations

import re

from headroom.core.transforms.base import Compressed, Job, Transform, Units, marker

__all__ = ["RagTransform", "compress_rag", "split_passages"]

_START = re.compile(r"^(?:\[\d+\]|Document \d+|Source:|#{1,2} )", re.IGNORECASE)
_OUTLINE_LINES = 3


def split_passages(text: str) -> list[str]:
    """Passages, each starting at a `[n]`/`Document n`/`Source:` header line."""
    passages: list[list[str]] = []
    numbered = bool(re.search(r"^\[\d+\]", text, re.MULTILINE))
    start = re.compile(r"^\[\d+\]") if numbered else _START
    for line in text.splitlines():
        if start.match(line) or not passages:
            passages.append([line])
        else:
            passages[-1].append(line)
    return ["\n".join(p).strip("\n") for p in passages]


def compress_rag(job: Job) -> Compressed | None:
    passages = split_passages(job.text)
    if len(passages) < 3 or not job.config.lossy:
        return None
    relevant = (
        set(job.relevance.top(passages, job.scaled(3), max_share=0.3)) if job.relevance else set()
    )
    out: list[str] = []
    outlined = 0
    for i, passage in enumerate(passages):
        if i in relevant:
            out.append(passage)
            continue
        lines = [line for line in passage.splitlines() if line.strip()]
        if len(lines) <= _OUTLINE_LINES + 1:
            out.append(passage)
            continue
        outlined += 1
        out.append(
            "\n".join([*lines[:_OUTLINE_LINES], f"... ({len(lines) - _OUTLINE_LINES} more lines)"])
        )
    if not outlined:
        return None
    summary = f"{outlined} of {len(passages)} passages cut to their first lines"
    if relevant:
        summary += f"; {len(relevant)} matching the request kept whole"
    out.append(marker(summary, job.ccr_hash or None))
    return Compressed("\n\n".join(out), "rag:passages", lossy=True)


class RagTransform(Transform):
    """Retrieved passages: matching ones kept, each passage a unit."""

    kind = "rag"

    def compress(self, job: Job) -> Compressed | None:
        return compress_rag(job)

    def units(self, text: str) -> Units:
        return Units.of(split_passages(text))
