"""Diffs, HTML and plain text: each trimmed for what it is."""

from __future__ import annotations

import re

from headroom.core.transforms.base import Compressed, Job, marker
from headroom.core.transforms.logs import compress_logs

__all__ = ["compress_diff", "compress_html", "compress_text_lines"]

_BLANK_RUNS = re.compile(r"\n\s*\n(?:\s*\n)+")
_TRAILING = re.compile(r"[ \t]+$", re.MULTILINE)
_DIFF_CONTEXT = 2


def compress_text_lines(job: Job) -> Compressed | None:
    """Plain text: tidy whitespace; long, repetitive text is collapsed like a log."""
    lines = job.text.splitlines()
    if job.config.lossy and len(lines) >= 50:
        distinct = len(set(lines)) / len(lines)
        if distinct < 0.7:
            return compress_logs(job)
    tidy = _BLANK_RUNS.sub("\n\n", _TRAILING.sub("", job.text)).strip("\n")
    return Compressed(tidy, "text:tidy") if tidy != job.text else None


def compress_diff(job: Job) -> Compressed | None:
    """Unified diff: keep headers, hunk lines and changes; trim long unchanged context."""
    lines = job.text.splitlines()
    changed = [i for i, line in enumerate(lines) if _is_structural(line)]
    near: set[int] = set()
    for i in changed:
        near.update(range(max(0, i - _DIFF_CONTEXT), min(len(lines), i + _DIFF_CONTEXT + 1)))
    out: list[str] = []
    dropped = 0
    for i, line in enumerate(lines):
        if i in near or not job.config.lossy:
            out.append(line)
        else:
            dropped += 1
            if not out or not out[-1].startswith(" ..."):
                out.append(" ...")
    if not dropped:
        return None
    out.append(marker(f"{dropped} unchanged context lines trimmed", job.ccr_hash or None))
    return Compressed("\n".join(out), "diff:context", lossy=True)


def _is_structural(line: str) -> bool:
    return line.startswith(
        ("+", "-", "@@", "diff ", "index ", "new file", "deleted file", "rename ")
    )


_SCRIPT = re.compile(r"<(script|style|noscript|svg)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_BLOCK = re.compile(
    r"</?(?:p|div|br|li|tr|h[1-6]|section|article|header|footer|table|ul|ol)\b[^>]*>", re.IGNORECASE
)
_LINK = re.compile(r"<a\b[^>]*href=\"([^\"]+)\"[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def compress_html(job: Job) -> Compressed | None:
    """HTML: the readable text and link targets, without markup, scripts or styles."""
    import html  # only HTML outputs need it

    text = _SCRIPT.sub("", _COMMENT.sub("", job.text))
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _BLOCK.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    text = _BLANK_RUNS.sub("\n\n", "\n".join(line.strip() for line in text.splitlines())).strip()
    if not text:
        return None
    body = f"{text}\n{marker('HTML reduced to its text', job.ccr_hash or None)}"
    return Compressed(body, "html:text", lossy=True)
