"""Tell what a tool output is, from its text alone (cheap checks on a sample)."""

from __future__ import annotations

import json
import re
from typing import Literal

__all__ = ["CAT_N", "Kind", "detect_kind", "parse_json", "split_json"]

Kind = Literal[
    "json", "table", "csv", "log", "code", "grep", "rag", "diff", "html", "gitlog", "text"
]

CAT_N = re.compile(r"^\s*\d+\t")
_GIT_COMMIT = re.compile(r"^commit [0-9a-f]{7,40}\b", re.MULTILINE)
_GREP = re.compile(r"^(?:\./)?[\w.@+/\\-]+\.\w+[:-]\d+[:-]")
_PSQL_RULE = re.compile(r"^[-=]+(?:\+[-=]+)+\s*$")
_MD_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)+\|?\s*$")
_PASSAGE = re.compile(r"^(?:\[\d+\]|#{1,3} |Document \d+|Source:|---+$)", re.IGNORECASE)
_CODE = re.compile(
    r"^\s*(?:def |class |import |from \S+ import |async def |@\w|function |const |let |var |export |"
    r"public |private |protected |static |func |fn |impl |package |#include|using |namespace |"
    r"return\b|if \(|for \(|while \(|else\b|elif |try:|except\b|\}|\{$|#!)"
)
_TIMESTAMP = re.compile(
    r"(?:\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}|\b\d{2}:\d{2}:\d{2}\b|^\[?\w{3} \w{3} +\d+ |^\w{3} +\d+ \d{2}:\d{2}|"
    r"^\d{10}|\b(?:INFO|DEBUG|WARN|WARNING|ERROR|FATAL|TRACE|NOTICE)\b|^[IWEFDV]/\w+)"
)


_JSON_START = re.compile(r"(?:^|\n)[ \t]*([\[{])")
_DECODER = json.JSONDecoder()


def split_json(text: str) -> tuple[str, object, str] | None:
    """(prose before, value, prose after) when one JSON object/array is most of `text`.

    Covers "Here is the data:\n[...]" as well as a bare JSON document.
    """
    match = _JSON_START.search(text)
    if match is None:
        return None
    start = match.start(1)
    try:
        value, end = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, (dict, list)) or (end - start) < 0.5 * len(text.strip()):
        return None
    return text[:start], value, text[end:]


def parse_json(text: str) -> object | None:
    """The parsed value if `text` is one JSON object or array, else None."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{" or stripped[-1] not in "]}":
        return None
    try:
        value: object = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, (dict, list)) else None


def _share(lines: list[str], pattern: re.Pattern[str]) -> float:
    return sum(1 for line in lines if pattern.search(line)) / len(lines) if lines else 0.0


def detect_kind(text: str) -> Kind:
    """The kind of content `text` is, by the first matching rule."""
    stripped = text.lstrip()
    if not stripped:
        return "text"
    if stripped[0] in "[{" and parse_json(text) is not None:
        return "json"
    if ("\n[" in text or "\n{" in text or stripped[0] in "[{") and split_json(text) is not None:
        return "json"
    lines = [line for line in text.splitlines()[:400] if line.strip()]
    if not lines:
        return "text"
    head = lines[:6]
    if stripped.startswith("commit ") and len(_GIT_COMMIT.findall(text, 0, 200_000)) >= 2:
        return "gitlog"
    if (
        stripped.startswith(("diff --git", "--- a/", "Index: "))
        or _share(lines, re.compile(r"^@@ -\d")) > 0
    ):
        return "diff"
    if (
        re.match(r"(?is)<!doctype html|<html", stripped)
        or _share(lines, re.compile(r"</?(?:div|p|span|a|td|li)\b")) > 0.3
    ):
        return "html"
    if any(_PSQL_RULE.match(line) for line in head) or any(_MD_RULE.match(line) for line in head):
        return "table"
    if _share(lines, _GREP) > 0.6:
        return "grep"
    if _share(lines, CAT_N) > 0.8:
        return "code"
    passages = sum(1 for line in lines if _PASSAGE.match(line))
    if passages >= max(2, len(lines) * 0.02) and _share(lines, _CODE) <= 0.3:
        return "rag"
    if _share(lines, _TIMESTAMP) > 0.5:
        return "log"
    if _share(lines, _CODE) > 0.15:
        return "code"
    if _is_csv(lines):
        return "csv"
    return "text"


def _is_csv(lines: list[str]) -> bool:
    """Comma-separated rows with the same field count (a line or two of prose may precede)."""
    for skip in range(3):
        sample = lines[skip : skip + 50]
        if len(sample) < 5:
            return False
        counts = [line.count(",") for line in sample]
        if counts[0] >= 2 and sum(1 for c in counts if c == counts[0]) / len(counts) > 0.8:
            return True
    return False
