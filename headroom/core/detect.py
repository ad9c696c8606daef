"""Tell what a tool output is, from its text alone (cheap checks on a sample)."""

from __future__ import annotations

import ast
import json
import re
from typing import Literal

__all__ = [
    "CAT_N",
    "Kind",
    "detect_kind",
    "parse_json",
    "parse_ndjson",
    "parse_python_literal",
    "parse_structured",
    "split_json",
]

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


_PY_HINT = re.compile(r"[\[{(,:]\s*'|\b(?:True|False|None)\b")
_PY_TOKEN = re.compile(
    r"'((?:[^'\\\n]|\\.)*)'|\"((?:[^\"\\\n]|\\.)*)\"|\b(True|False|None)\b", re.DOTALL
)
_PY_ESCAPE = re.compile(r'\\(x[0-9a-fA-F]{2}|.)|"', re.DOTALL)
_KEYWORDS = {"True": "true", "False": "false", "None": "null"}
#: ast.literal_eval builds a syntax tree many times the text's size: only for small texts.
_LITERAL_EVAL_MAX = 200_000


def _py_escape(match: re.Match[str]) -> str:
    if match.group(0) == '"':
        return '\\"'
    code = match.group(1)
    if code == "'":
        return "'"
    if code[0] == "x":
        return "\\u00" + code[1:]
    return "\\" + code


def _py_token(match: re.Match[str]) -> str:
    keyword = match.group(3)
    if keyword is not None:
        return _KEYWORDS[keyword]
    body = match.group(1) if match.group(1) is not None else match.group(2)
    return '"' + _PY_ESCAPE.sub(_py_escape, body) + '"'


def parse_python_literal(text: str) -> object | None:
    """A list or dict printed by Python (`str(result)`: single quotes, True/None), or None.

    Agents built on Python frameworks pass a tool's dict or list result as its repr.
    """
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{" or stripped[-1] not in "]}":
        return None
    if _PY_HINT.search(stripped, 0, 2000) is None:
        return None
    try:
        value: object = json.loads(_PY_TOKEN.sub(_py_token, stripped))
    except (ValueError, RecursionError):
        if len(stripped) > _LITERAL_EVAL_MAX:
            return None
        try:
            value = ast.literal_eval(stripped)
            json.dumps(value)  # sets, bytes, complex: not data a table can show
        except Exception:  # literal_eval raises many types on arbitrary text
            return None
    return value if isinstance(value, (dict, list)) else None


#: Share of lines that must be JSON objects for a text to be NDJSON (a stray line may remain).
_NDJSON_SHARE = 0.9


def parse_ndjson(text: str) -> list[object] | None:
    """Records of newline-delimited JSON (one object per line), or None.

    A line that is not an object is kept as `{"_line": text}`, so nothing is lost.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 3:
        return None
    sample = lines[:200]
    if sum(1 for x in sample if x[0] == "{" and x[-1] == "}") < _NDJSON_SHARE * len(sample):
        return None
    records: list[object] = []
    stray = 0
    for line in lines:
        value: object = None
        if line[0] == "{" and line[-1] == "}":
            try:
                value = json.loads(line)
            except (ValueError, RecursionError):
                value = None
        if not isinstance(value, dict):
            stray += 1
            if stray > (1 - _NDJSON_SHARE) * len(lines):
                return None
            value = {"_line": line}
        records.append(value)
    return records


_CACHE: list[tuple[str, tuple[str, object, str] | None]] = []


def parse_structured(text: str, *, keep: bool = True) -> tuple[str, object, str] | None:
    """(prose before, value, prose after) for JSON, NDJSON or a Python-printed list/dict.

    The last answer is cached: detection and the transform parse the same text.
    With `keep=False` the answer leaves the cache (or never enters it), so the
    caller holds the only reference and can free the parse, about four times
    the text's size, as soon as it is done with it.
    """
    cached = _CACHE[0] if _CACHE else None  # one read: another thread may replace it
    if cached is not None and cached[0] is text:
        if not keep:
            _CACHE.clear()  # at worst drops another thread's newer entry: it is only a cache
        return cached[1]
    result: tuple[str, object, str] | None = None
    value = parse_json(text)
    if value is not None:
        result = ("", value, "")
    else:
        result = split_json(text)
        if result is None:
            value = parse_python_literal(text)
            if value is None and text.lstrip()[:1] == "{":
                value = parse_ndjson(text)
            if value is not None:
                result = ("", value, "")
    if keep:
        _CACHE[:] = [(text, result)]
    return result


def _share(lines: list[str], pattern: re.Pattern[str]) -> float:
    return sum(1 for line in lines if pattern.search(line)) / len(lines) if lines else 0.0


def detect_kind(text: str) -> Kind:
    """The kind of content `text` is, by the first matching rule."""
    stripped = text.lstrip()
    if not stripped:
        return "text"
    if ("\n[" in text or "\n{" in text or stripped[0] in "[{") and parse_structured(
        text
    ) is not None:
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
    if _has_csv_header(lines) and _is_csv(lines):
        return "csv"  # before logs: a CSV of timestamped records is still a table
    if _share(lines, _TIMESTAMP) > 0.5:
        return "log"
    if _share(lines, _CODE) > 0.15:
        return "code"
    if _is_csv(lines):
        return "csv"
    return "text"


_HEADER_FIELD = re.compile(r'^\s*"?[A-Za-z_][\w .()/#-]{0,60}"?\s*$')


def _has_csv_header(lines: list[str]) -> bool:
    """The first line names columns (words, no values) and the next lines have as many fields."""
    import csv

    try:
        rows = list(csv.reader(lines[:50]))
    except csv.Error:
        return False
    if len(rows) < 5 or len(rows[0]) < 3:
        return False
    if not all(_HEADER_FIELD.match(field) for field in rows[0]):
        return False
    width = len(rows[0])
    return sum(1 for r in rows[1:] if len(r) == width) >= 0.95 * (len(rows) - 1)


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
