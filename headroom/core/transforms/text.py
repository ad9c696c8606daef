"""Diffs, HTML and plain text: each trimmed for what it is."""

from __future__ import annotations

import re

from headroom.core.heuristics import (
    DIFF_CONTEXT,
    TEXT_MAX_DISTINCT_SHARE,
    TEXT_MIN_LINES_FOR_TEMPLATES,
)
from headroom.core.transforms.base import Compressed, Job, Transform, Units, marker
from headroom.core.transforms.grep import compress_grep, is_heading_layout
from headroom.core.transforms.grep import units as grep_units
from headroom.core.transforms.logs import compress_logs

__all__ = [
    "DiffTransform",
    "HtmlTransform",
    "TextTransform",
    "compress_diff",
    "compress_html",
    "compress_text_lines",
    "tidy_whitespace",
]


def tidy_whitespace(text: str) -> str:
    """Trailing blanks cut and runs of blank lines folded to one, in one linear pass.

    Line by line rather than by regex: a trailing-blank or blank-run pattern retries
    from every position of a long run of spaces (deeply indented JSON, padding),
    which is quadratic in the run's length.
    """
    out: list[str] = []
    blank = False
    for line in text.split("\n"):
        line = line.rstrip(" \t\r\f\v")
        if not line:
            if blank:
                continue
            blank = True
        else:
            blank = False
        out.append(line)
    return "\n".join(out).strip("\n")


def compress_text_lines(job: Job) -> Compressed | None:
    """Plain text: tidy whitespace; long, repetitive text is collapsed like a log.

    Repetition is measured on non-blank lines: the blank lines between
    paragraphs of prose are not a log's recurring template, and counting them
    sent every long prose text through a template pass that found nothing.
    """
    if _heading_layout(job.text):
        return compress_grep(job)
    if job.config.lossy and _repetitive(job.text):
        collapsed = compress_logs(job)
        if collapsed is not None and collapsed.lossy:
            return collapsed
    tidy = tidy_whitespace(job.text)
    return Compressed(tidy, "text:tidy") if tidy != job.text else None


def _heading_layout(text: str) -> bool:
    """Whether plain text is ripgrep's --heading output (a grep, read as one)."""
    return is_heading_layout(text.split("\n", 400)[:400])


def _repetitive(text: str) -> bool:
    """Whether enough non-blank lines repeat exactly for log templating to pay off."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < TEXT_MIN_LINES_FOR_TEMPLATES:
        return False
    return len(set(lines)) / len(lines) < TEXT_MAX_DISTINCT_SHARE


def compress_diff(job: Job) -> Compressed | None:
    """Unified diff: keep headers, hunk lines and changes; trim long unchanged context."""
    lines = job.text.splitlines()
    changed = [i for i, line in enumerate(lines) if _is_structural(line)]
    near: set[int] = set()
    for i in changed:
        near.update(range(max(0, i - DIFF_CONTEXT), min(len(lines), i + DIFF_CONTEXT + 1)))
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
    text = tidy_whitespace("\n".join(line.strip() for line in text.splitlines())).strip()
    if not text:
        return None
    body = f"{text}\n{marker('HTML reduced to its text', job.ccr_hash or None)}"
    return Compressed(body, "html:text", lossy=True)


class TextTransform(Transform):
    """Plain text: whitespace tidied, repetitive text collapsed like a log."""

    kind = "text"

    def compress(self, job: Job) -> Compressed | None:
        return compress_text_lines(job)

    def units(self, text: str) -> Units:
        if _heading_layout(text):
            return Units.of(grep_units(text))  # a match with its context lines is one unit
        return Units.lines(text)


class DiffTransform(Transform):
    """Unified diffs: changed lines with a little context."""

    kind = "diff"

    def compress(self, job: Job) -> Compressed | None:
        return compress_diff(job)


class HtmlTransform(Transform):
    """HTML: the text and links, without markup, scripts and styles."""

    kind = "html"

    def compress(self, job: Job) -> Compressed | None:
        return compress_html(job)
