"""`headroom demo`: the first minute with Headroom, offline.

Real agent conversations bundled with the package go through `compress()`;
for each one the demo shows what came in, what went out, what was kept and
why (the marker), a sample of what the model now reads, and the
compress-cache-retrieve round trip that gets the original back. It fits a
100-column terminal and uses color only where the terminal supports it.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, TextIO

from headroom.core import compress, retrieve
from headroom.core.detect import detect_kind
from headroom.core.messages import message_pieces, message_text_for_counting, tool_call_index
from headroom.core.tokens import counter_for_model

__all__ = ["WIDTH", "run_demo"]

#: The terminal width every line is wrapped to (a common default that also
#: fits side-by-side panes).
WIDTH = 100
#: Lines of compressed output shown as a sample: enough to see the format,
#: short enough that five cases fit a screen or two.
_SAMPLE_LINES = 6

_CATEGORY_LABELS = {
    "code_read": "a source file read by the agent",
    "db_rows": "a SQL query result",
    "json_search": "JSON records from an API search",
    "logs": "a log file pulled by the agent",
    "multi_turn_agent": "a multi-turn agent session with several tools",
}


class _Style:
    """ANSI styling, on only for a terminal that wants it (NO_COLOR, FORCE_COLOR honoured)."""

    def __init__(self, stream: TextIO) -> None:
        if os.environ.get("NO_COLOR"):
            self.on = False
        elif os.environ.get("FORCE_COLOR"):
            self.on = True
        else:
            self.on = stream.isatty() and os.environ.get("TERM") != "dumb"

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.on else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def good(self, text: str) -> str:
        return self._wrap("32", text)

    def bad(self, text: str) -> str:
        return self._wrap("31", text)

    def accent(self, text: str) -> str:
        return self._wrap("36", text)


@dataclass
class _Totals:
    before: int = 0
    after: int = 0
    facts: int = 0
    facts_kept: int = 0


def _demo_cases() -> list[dict[str, Any]]:
    folder = resources.files("headroom").joinpath("demo_data")
    return [
        json.loads(entry.read_text(encoding="utf-8"))
        for entry in sorted(folder.iterdir(), key=lambda p: p.name)
        if entry.name.endswith(".json")
    ]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _fact_kept(fact: str, messages: list[dict[str, Any]]) -> bool:
    blob = _flat(json.dumps(messages, ensure_ascii=False))
    wanted = _flat(fact)
    return wanted in blob or json.dumps(wanted, ensure_ascii=False)[1:-1] in blob


def _clip(text: str, width: int) -> str:
    text = _flat(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _body(message: Mapping[str, Any]) -> str:
    """The message's own text: what `message_pieces` counts, without its role and name."""
    pieces = message_pieces(message)[0]
    return "\n".join(pieces[2:] if message.get("name") else pieces[1:])


def _describe(message: Mapping[str, Any], tool_names: Mapping[str, tuple[str, str]]) -> str:
    """What a message is, in a few words (its role alone says too little)."""
    role = message.get("role")
    if role == "system":
        return "system prompt"
    content = message.get("content")
    blocks = content if isinstance(content, list) else []
    if role == "tool":
        name = tool_names.get(str(message.get("tool_call_id")), ("result", ""))[0]
        return f"output of {name} ({detect_kind(_body(message))})"
    calls = [c.get("function", {}).get("name") for c in message.get("tool_calls") or []]
    calls += [b.get("name") for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"]
    results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
    if calls:
        return "tool call: " + ", ".join(str(c) for c in calls)
    if results:
        names = [tool_names.get(str(r.get("tool_use_id")), ("result", ""))[0] for r in results]
        return f"output of {', '.join(names)} ({detect_kind(_body(message))})"
    return "question" if role == "user" else "answer"


def _status(before: str, after: str, grew: int, style: _Style) -> str:
    if before == after:
        return style.dim("unchanged")
    if "[headroom recall" in after and "[headroom recall" not in before:
        return style.accent(f"recall appended (+{grew})")
    return style.good("compressed")


def _markers(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    found = []
    for m in messages:
        for line in _body(m).splitlines():
            if line.startswith(("[headroom:", "[headroom recall")):
                found.append(line)
    return found


def _wrapped(text: str, indent: str) -> list[str]:
    """Long lines wrapped, never cut: a cut marker would lose its hash."""
    return textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
        break_long_words=False,
    )


def _show_case(
    number: int,
    total: int,
    case: dict[str, Any],
    count: Callable[[str], int],
    model: str,
    style: _Style,
    out: Callable[[str], None],
) -> _Totals:
    messages = case["messages"]
    result = compress(messages, model=model)
    label = _CATEGORY_LABELS.get(case["category"], case["category"].replace("_", " "))
    out("")
    out(style.bold(f"━━ {number}/{total} · {label}"))
    for line in _wrapped(f'The user asks: "{_flat(case["question"])}"', "  "):
        out(line)
    out(style.dim(f"  {'msg':>3}  {'role':<9} {'what it is':<40} {'tokens in':>9} {'out':>7}"))
    tool_names = tool_call_index(messages)
    for i, (old, new) in enumerate(zip(messages, result.messages, strict=True)):
        before_text = message_text_for_counting(old)
        after_text = message_text_for_counting(new)
        b, a = count(before_text), count(after_text)
        out(
            f"  {i:>3}  {old.get('role', '?'):<9} {_clip(_describe(old, tool_names), 40):<40} "
            f"{b:>9,} {a:>7,}  {_status(before_text, after_text, a - b, style)}"
        )
    facts = case.get("needles") or []
    kept = sum(_fact_kept(f, result.messages) for f in facts)
    verdict = style.good("all kept") if kept == len(facts) else style.bad(f"{kept} kept")
    out(
        f"  In all: {result.tokens_before:,} → {result.tokens_after:,} tokens "
        f"({style.bold(f'{result.compression_ratio:.0%} saved')}). "
        f"Facts the answer needs: {len(facts)}, {verdict}."
    )
    if any("[headroom recall" in _body(m) for m in result.messages):
        for line in _wrapped(
            "Recall: the parts of earlier cut outputs that match the latest question were appended "
            "after it, the one place a change costs nothing already cached by the provider.",
            "  ",
        ):
            out(line)
    _show_what_was_kept(messages, result.messages, style, out)
    _show_round_trip(messages, result.ccr_hashes, case["question"], style, out)
    return _Totals(result.tokens_before, result.tokens_after, len(facts), kept)


def _show_what_was_kept(
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
    style: _Style,
    out: Callable[[str], None],
) -> None:
    markers = _markers(after)
    if markers:
        out("  What was left out, and how to get it back (the marker the model reads):")
        for marker in markers[:2]:
            for line in _wrapped(marker, "    "):
                out(style.accent(line))
    changed = [
        _body(n)
        for o, n in zip(before, after, strict=True)
        if _body(o) != _body(n) and o.get("role") != "user"
    ]
    if changed:
        sample = [ln for ln in changed[0].splitlines() if ln.strip() and "[headroom" not in ln]
        out(f"  What the model reads now (first {min(_SAMPLE_LINES, len(sample))} lines):")
        for line in sample[:_SAMPLE_LINES]:
            out(style.dim("    │ ") + _clip(line, WIDTH - 6))


def _show_round_trip(
    before: list[dict[str, Any]],
    hashes: list[str],
    question: str,
    style: _Style,
    out: Callable[[str], None],
) -> None:
    if not hashes:
        out("  Nothing was cut, so there is nothing to retrieve.")
        return
    key = hashes[0]
    original = retrieve(key)
    texts = {_body(m) for m in before}
    same = any(original in t for t in texts)
    mark = style.good("identical to what the tool returned") if same else style.bad("differs")
    out(f'  headroom_retrieve(hash="{key}") → {len(original):,} chars, {mark}.')
    part = retrieve(key, query=question)
    if len(part) < len(original):
        out(
            f"  With the question as query → {len(part):,} chars: only the parts that match, "
            "for a cheaper round trip."
        )


def run_demo(model: str = "gpt-4o", print_line: Callable[[str], None] = print) -> int:
    """Compress every bundled conversation and explain the result; returns the exit code."""
    import sys

    style = _Style(sys.stdout)
    count = counter_for_model(model)
    cases = _demo_cases()
    started = time.perf_counter()
    intro = (
        f"Headroom compresses what agents send to a model. Below are {len(cases)} real agent "
        f"conversations bundled with the package, compressed offline for {model}. For each: "
        "every message with its tokens before and after, the marker left where content was "
        "cut, a sample of what the model reads, and the round trip that brings the original back."
    )
    print_line(style.bold("Headroom demo"))
    for line in textwrap.wrap(intro, WIDTH):
        print_line(line)
    totals = _Totals()
    for n, case in enumerate(cases, 1):
        t = _show_case(n, len(cases), case, count, model, style, print_line)
        totals.before += t.before
        totals.after += t.after
        totals.facts += t.facts
        totals.facts_kept += t.facts_kept
    saved = 1 - totals.after / totals.before if totals.before else 0.0
    print_line("")
    print_line(
        style.bold(
            f"Total: {totals.before:,} → {totals.after:,} tokens ({saved:.0%} saved); "
            f"facts the answers need: {totals.facts_kept}/{totals.facts} kept; "
            f"{time.perf_counter() - started:.1f} s."
        )
    )
    print_line(
        "Try it on your own messages: headroom compress FILE.json  (see headroom compress --help)"
    )
    return 0
