"""Logs, code reads and grep output from generators keep a planted fact, end to end.

Each case builds a random tool output from realistic vocabularies (several
log formats, Python and a brace language, grep with context lines and
ripgrep's heading layout), plants one fact of a class the issue names, asks
for it one of several ways and at one of several positions (before the call,
right after the output, several turns later), runs `headroom.compress` and
checks the fact is still in the request. Nothing here is tuned to a corpus
file: the vocabularies, formats, sizes and positions are drawn at random.

    PYTHONPATH=. python tests/core/test_generalization_textkinds.py   # recall per class
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from headroom import compress
from tests.conftest import needle_present

__all__ = ["CLASSES", "Case", "build", "survives"]

# --- vocabularies ------------------------------------------------------------------------

SERVICES = ["billing", "auth", "catalog", "search", "orders", "gateway", "inventory", "mailer"]
HOSTS = [f"{p}-{n}" for p in ("web", "api", "db", "cache", "worker") for n in range(1, 9)]
USERS = ["alice", "bob", "carol", "dmitri", "erin", "farah", "gus", "hana", "ivan", "joao"]
PATHS = ["/api/v1/items", "/api/v1/users", "/api/v2/orders", "/healthz", "/api/v1/cart", "/login"]
VERBS = ["fetch", "load", "parse", "build", "update", "resolve", "render", "sync", "apply", "merge"]
NOUNS = ["user", "order", "header", "config", "token", "session", "invoice", "batch", "report"]
DIRS = ["src/core", "src/api", "src/util", "lib/net", "tests/unit", "tests/integration"]
NAMED_DIRS = {  # a directory and how a question names it in words
    "migrations/versions": "the migration scripts",
    "scripts/maintenance": "the maintenance scripts",
    "docs/examples": "the documentation examples",
    "tests/fixtures": "the test fixtures",
}


def _stamp(rng: random.Random, i: int, fmt: str) -> str:
    second = i * 3 + rng.randint(0, 2)
    h, m, s = 8 + second // 3600 % 12, second // 60 % 60, second % 60
    if fmt == "syslog":
        return f"Mar {11 + second // 86400:2d} {h:02d}:{m:02d}:{s:02d}"
    if fmt == "logcat":
        return f"03-11 {h:02d}:{m:02d}:{s:02d}.{rng.randint(0, 999):03d}"
    if fmt == "python":
        return f"2025-03-11 {h:02d}:{m:02d}:{s:02d},{rng.randint(0, 999):03d}"
    return f"2025-03-11T{h:02d}:{m:02d}:{s:02d}.{rng.randint(0, 999):03d}Z"


def _log_line(
    rng: random.Random, i: int, fmt: str, level: str, message: str, source: str | None = None
) -> str:
    """One line; `source` pins the emitting service, host and thread (else drawn at random)."""
    stamp = _stamp(rng, i, fmt)
    pinned = random.Random(source) if source else rng
    service, host, thread = pinned.choice(SERVICES), pinned.choice(HOSTS), pinned.randint(1, 8)
    if fmt == "syslog":
        return f"{stamp} {host} {service}[{rng.randint(100, 9999)}]: {message}"
    if fmt == "python":
        return f"{stamp} - {service}.handler - {level} - {message}"
    if fmt == "logcat":
        tag = f"{service.title()}Service"
        return f"{stamp}  {1000 + thread * 7}  {1000 + thread * 7 + rng.randint(0, 9)} {level[0]} {tag}: {message}"
    return f"{stamp} {level:5} [{service}-{thread}] c.e.{service}.Worker: {message}"


def _background(rng: random.Random) -> Callable[[int], tuple[str, str]]:
    """A log's recurring chatter: a few templates with varying values."""
    templates: list[Callable[[], tuple[str, str]]] = [
        lambda: (
            "INFO",
            f"GET {rng.choice(PATHS)}/{rng.randint(1, 99999)} {rng.choice([200, 200, 304])} "
            f"{rng.randint(2, 900)}ms",
        ),
        lambda: ("DEBUG", f"cache hit ratio {rng.random():.3f} for shard {rng.randint(0, 31)}"),
        lambda: ("INFO", f"heartbeat from {rng.choice(HOSTS)} seq={rng.randint(1, 10**6)}"),
        lambda: (
            "INFO",
            f"user {rng.choice(USERS)} logged in from 10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        ),
        lambda: ("DEBUG", f"pool size={rng.randint(1, 64)} idle={rng.randint(0, 64)}"),
        lambda: ("WARN", f"slow query took {rng.randint(1000, 9000)}ms on {rng.choice(HOSTS)}"),
    ]
    weights = [30, 20, 20, 10, 15, 5]

    def line(_: int) -> tuple[str, str]:
        return rng.choices(templates, weights)[0]()

    return line


# Rare INFO events: (template, question in words, question naming a literal value)
RARE_EVENTS: list[tuple[str, str, str]] = [
    (
        "certificate for {host}.internal renewed, valid until 2026-0{n}-1{n}",
        "Until when are the renewed certificates valid?",
        "What does the log say about {host}.internal?",
    ),
    (
        "leader election won by {host} for term {num}",
        "Which nodes won a leader election, and for which terms?",
        "Did {host} ever become leader?",
    ),
    (
        "feature flag {flag} switched on for cohort {user}",
        "Which feature flags were switched on, and for whom?",
        "What happened to the {flag} flag?",
    ),
    (
        "schema migration {num}_{flag} applied by operator {user}",
        "Which schema migrations were applied, and by whom?",
        "Who applied migration {num}_{flag}?",
    ),
    (
        "tenant {user} quota raised to {num} requests per minute",
        "Whose request quotas were raised, and to what?",
        "What is {user}'s new quota?",
    ),
]
FLAGS = ["checkout_v2", "dark_mode", "fast_refunds", "new_pricing", "smart_retry", "bulk_export"]


@dataclass
class Case:
    """One generated output, the facts it plants and ways to ask for them."""

    kind: str
    klass: str
    output: str
    questions: list[str]
    needles: list[str]
    # lines that must appear with their exact leading whitespace
    indented: list[str] = field(default_factory=list)
    tool: str = "tool"


def rare_info_case(rng: random.Random) -> Case:
    fmt = rng.choice(["iso", "syslog", "python", "logcat"])
    n = rng.randint(1200, 3000)
    background = _background(rng)
    lines = [_log_line(rng, i, fmt, *background(i)) for i in range(n)]
    template, in_words, literal = rng.choice(RARE_EVENTS)
    k = rng.randint(3, 10)  # "a handful": often more than a fixed threshold of 5
    values = [
        {
            "host": rng.choice(HOSTS),
            "num": rng.randint(100, 999),
            "flag": rng.choice(FLAGS),
            "user": rng.choice(USERS),
            "n": rng.randint(1, 9),
        }
        for _ in range(k)
    ]
    messages = [template.format(**v) for v in values]
    for pos, message in zip(sorted(rng.sample(range(1, n - 1), k)), messages, strict=True):
        lines[pos] = _log_line(rng, pos, fmt, "INFO", message, source=template)
    return Case(
        "log",
        "rare_info",
        "\n".join(lines),
        [in_words, literal.format(**values[0])],
        messages,
        tool="read_logs",
    )


def traceback_case(rng: random.Random) -> Case:
    fmt = rng.choice(["iso", "python"])
    n = rng.randint(800, 2500)
    background = _background(rng)
    lines = [_log_line(rng, i, fmt, *background(i)) for i in range(n)]
    service, noun = rng.choice(SERVICES), rng.choice(NOUNS)
    if rng.random() < 0.5:
        module = f"/srv/{service}/{noun}s.py"
        block = ["Traceback (most recent call last):"]
        for depth in range(rng.randint(2, 5)):
            fn = f"{rng.choice(VERBS)}_{rng.choice(NOUNS)}"
            block += [
                f'  File "/srv/{service}/{rng.choice(NOUNS)}.py", line {rng.randint(10, 900)}, in {fn}',
                f"    result = {fn}(payload, depth={depth})",
            ]
        culprit = f'  File "{module}", line {rng.randint(10, 900)}, in total_{noun}'
        block += [culprit, f"    raise ValueError(f'negative {noun} amount: {{amount}}')"]
        block.append(f"ValueError: negative {noun} amount: -{rng.randint(1, 500)}")
        question = f"Why did the {service} job crash? Which file and line raised the error?"
    else:
        pkg = f"com.example.{service}"
        block = [f"java.lang.IllegalStateException: {noun} ledger out of balance"]
        for _ in range(rng.randint(3, 8)):
            cls = f"{rng.choice(VERBS).title()}{rng.choice(NOUNS).title()}"
            block.append(f"\tat {pkg}.{cls}.run({cls}.java:{rng.randint(10, 900)})")
        culprit = f"\tat {pkg}.Ledger.close(Ledger.java:{rng.randint(10, 900)})"
        block += [culprit, f"Caused by: java.io.IOException: {noun} store unreachable"]
        block += [f"\tat {pkg}.Store.write(Store.java:{rng.randint(10, 900)})", "\t... 12 more"]
        question = f"What made the {service} service fail, and where in the code did it happen?"
    at = rng.randint(n // 5, 4 * n // 5)
    head = _log_line(rng, at, fmt, "ERROR", f"{service} job failed while closing {noun} batch")
    lines[at : at + 1] = [head, *block]
    return Case(
        "log",
        "traceback",
        "\n".join(lines),
        [question, "Show me the stack trace of the failure."],
        [culprit.strip(), block[-1].strip()],
        indented=[culprit],
        tool="read_logs",
    )


def _py_body(rng: random.Random, indent: str) -> list[str]:
    body: list[str] = []
    for _ in range(rng.randint(4, 12)):
        a, b = rng.choice(NOUNS), rng.choice(NOUNS)
        body.append(
            rng.choice(
                [
                    f"{indent}{a} = self._{rng.choice(VERBS)}({b})",
                    f"{indent}if {a} is None:",
                    f"{indent}    return None",
                    f"{indent}{a}s.append({b})",
                    f"{indent}log.debug('{rng.choice(VERBS)} %s', {a})",
                    f"{indent}total += len({a}s)",
                    f"{indent}for item in {a}s:",
                    f"{indent}    item.{rng.choice(VERBS)}()",
                ]
            )
        )
    return body


# Behaviour facts planted in an elided body: (line, question in words, question naming it)
PY_FACTS: list[tuple[str, str, str]] = [
    (
        "for attempt in range({n}):",
        "How many attempts does the client make before it gives up?",
        "What is the loop bound of the attempt loop?",
    ),
    (
        "if len(batch) > {big}:",
        "What is the largest batch size accepted before it is split?",
        "At what length of batch does the splitting start?",
    ),
    (
        "self.backoff_seconds = {f}",
        "How long does it wait between retries, in seconds?",
        "What is backoff_seconds set to?",
    ),
    (
        "raise QuotaExceeded('more than {big} requests per minute')",
        "What request rate makes it refuse service?",
        "When is QuotaExceeded raised?",
    ),
    (
        "assert 0 < ratio <= {f}, 'ratio out of range'",
        "What range must the ratio be in?",
        "What does the ratio assertion check?",
    ),
]
BRACE_FACTS: list[tuple[str, str, str]] = [
    (
        "if (retries > {n}) {{",
        "After how many retries does it give up?",
        "What is the retries threshold?",
    ),
    (
        'throw new IllegalStateException("pool exhausted after {big} connections");',
        "How many connections can the pool hold before it fails?",
        "When is IllegalStateException thrown?",
    ),
    (
        "long timeoutMillis = {big};",
        "How long is the timeout, in milliseconds?",
        "What is timeoutMillis?",
    ),
]


# A threshold inside an expression: a bound passed to min/max/clamp after other
# arguments, a literal operand of arithmetic, a literal on the left of a comparison.
PY_EXPRESSION_FACTS: list[tuple[str, str, str]] = [
    (
        "window = max(window // 2, {big})",
        "How small can the window get when it shrinks?",
        "What floor does the window halving have?",
    ),
    (
        "budget = clamp(spent, {n}, {big})",
        "What is the most the budget can be?",
        "Which bounds is spent clamped to?",
    ),
    (
        "deadline = started + {big} * attempt",
        "How much later does each attempt's deadline fall?",
        "How is the deadline computed?",
    ),
    (
        "if {big} <= len(pending):",
        "How many pending items make it flush?",
        "What pending length does the check compare with?",
    ),
]
BRACE_EXPRESSION_FACTS: list[tuple[str, str, str]] = [
    (
        "interval = Math.min(interval * {n}, {big});",
        "How far apart can polls get?",
        "What caps the poll interval?",
    ),
    (
        "int slots = capacity / {n} + {big};",
        "How many slots does it reserve?",
        "How are the slots computed?",
    ),
]


def _values(rng: random.Random) -> dict[str, Any]:
    return {"n": rng.randint(3, 19), "big": rng.randint(120, 9000), "f": rng.choice([2.5, 0.75])}


def python_code_case(rng: random.Random, facts: list[tuple[str, str, str]] = PY_FACTS) -> Case:
    lines = ["import logging", "from dataclasses import dataclass", "", "log = logging.getLogger()"]
    planted, in_words, naming = rng.choice(facts)
    fact = planted.format(**_values(rng))
    n_funcs = rng.randint(25, 70)
    target = rng.randrange(n_funcs)
    names: set[str] = set()
    lines += ["", "", f"class {rng.choice(NOUNS).title()}Client:"]
    for f in range(n_funcs):
        name = f"{rng.choice(VERBS)}_{rng.choice(NOUNS)}"
        while name in names:
            name += "_x"
        names.add(name)
        lines += ["", f"    def {name}(self, {rng.choice(NOUNS)}, limit=None):"]
        lines.append(f'        """{name.replace("_", " ").capitalize()}."""')
        body = _py_body(rng, "        ")
        if f == target:
            body.insert(rng.randint(1, len(body)), "        " + fact)
        lines += body
        lines.append("        return total")
    numbered = rng.random() < 0.5
    if numbered:  # as a read tool with `cat -n` numbering sends it
        lines = [f"{i + 1:>6}\t{line}" for i, line in enumerate(lines)]
    return Case("code", "code_constant", "\n".join(lines), [in_words, naming], [fact])


def brace_code_case(rng: random.Random, facts: list[tuple[str, str, str]] | None = None) -> Case:
    if rng.random() < 0.4:
        return _typescript_case(rng, TS_FACTS if facts is None else facts)
    lines = ["package com.example.net;", "", "import java.util.*;", "", "public class Pool {"]
    planted, in_words, naming = rng.choice(BRACE_FACTS if facts is None else facts)
    fact = planted.format(**_values(rng))
    n_funcs = rng.randint(25, 60)
    target = rng.randrange(n_funcs)
    for f in range(n_funcs):
        name = f"{rng.choice(VERBS)}{rng.choice(NOUNS).title()}{f}"
        lines += ["", f"    public int {name}(int {rng.choice(NOUNS)}) {{"]
        body = [
            f"        int {rng.choice(NOUNS)}Count = {rng.choice(VERBS)}(x);"
            if rng.random() < 0.5
            else f"        {rng.choice(NOUNS)}s.add({rng.choice(NOUNS)});"
            for _ in range(rng.randint(4, 10))
        ]
        if f == target:
            body.insert(rng.randint(1, len(body)), "        " + fact)
            if fact.endswith("{"):
                body.insert(body.index("        " + fact) + 1, "            return -1;")
                body.insert(body.index("        " + fact) + 2, "        }")
        lines += [*body, "        return 0;", "    }"]
    lines.append("}")
    return Case("code", "code_constant", "\n".join(lines), [in_words, naming], [fact])


TS_FACTS: list[tuple[str, str, str]] = [
    (
        "const maxRetries = {n};",
        "How many times does it retry a failed upload?",
        "What is maxRetries?",
    ),
    (
        "if (queue.length >= {big}) {{",
        "How long can the queue get before it sheds load?",
        "When does the queue length check trigger?",
    ),
    (
        'throw new Error("upload larger than {big} MB");',
        "What is the biggest upload it accepts?",
        "When does it throw the upload error?",
    ),
]


def _typescript_case(rng: random.Random, facts: list[tuple[str, str, str]]) -> Case:
    lines = ['import { Queue } from "./queue";', "", "export class Uploader {"]
    planted, in_words, naming = rng.choice(facts)
    fact = planted.format(**_values(rng))
    n_funcs = rng.randint(25, 60)
    target = rng.randrange(n_funcs)
    for f in range(n_funcs):
        name = f"{rng.choice(VERBS)}{rng.choice(NOUNS).title()}{f}"
        lines += ["", f"  async {name}({rng.choice(NOUNS)}: string): Promise<number> {{"]
        body = [
            f"    const {rng.choice(NOUNS)} = await this.{rng.choice(VERBS)}({rng.choice(NOUNS)});"
            for _ in range(rng.randint(4, 10))
        ]
        if f == target:
            at = rng.randint(1, len(body))
            body.insert(at, "    " + fact)
            if fact.endswith("{"):
                body[at + 1 : at + 1] = ["      return -1;", "    }"]
        lines += [*body, "    return 0;", "  }"]
    lines.append("}")
    return Case("code", "code_constant", "\n".join(lines), [in_words, naming], [fact])


def _grep_groups(
    rng: random.Random, files: list[str], symbol: str, context: int
) -> dict[str, list[list[tuple[int, str, str]]]]:
    out: dict[str, list[list[tuple[int, str, str]]]] = {}
    for path in files:
        groups = []
        line = 1
        for _ in range(rng.randint(1, 8)):
            line += rng.randint(context * 2 + 2, 60)
            group = [
                (
                    line + d,
                    ":" if d == 0 else "-",
                    f"    total = {symbol}({rng.choice(NOUNS)}, {rng.choice(NOUNS)})"
                    if d == 0
                    else f"    {rng.choice(NOUNS)} = {rng.choice(VERBS)}_{rng.choice(NOUNS)}()",
                )
                for d in range(-context, context + 1)
            ]
            groups.append(group)
        out[path] = groups
    return out


def _render_grep(groups: dict[str, list[list[tuple[int, str, str]]]], heading: bool) -> str:
    lines: list[str] = []
    for path, file_groups in groups.items():
        if heading:
            lines.append(path)
        for k, group in enumerate(file_groups):
            if len(group) > 1 and (k or (lines and not heading)):
                lines.append("--")  # grep separates groups only when it prints context
            for num, sep, text in group:
                lines.append(f"{num}{sep}{text}" if heading else f"{path}{sep}{num}{sep}{text}")
        if heading:
            lines.append("")
    return "\n".join(lines)


def _grep_files(rng: random.Random, extra_dir: str | None) -> list[str]:
    files = [
        f"{rng.choice(DIRS)}/{rng.choice(VERBS)}_{rng.choice(NOUNS)}.py"
        for _ in range(rng.randint(30, 60))
    ]
    if extra_dir:
        files += [f"{extra_dir}/{rng.choice(NOUNS)}_{k}.py" for k in range(rng.randint(2, 4))]
    rng.shuffle(files)
    return list(dict.fromkeys(files))


def grep_context_case(rng: random.Random) -> Case:
    symbol = f"{rng.choice(VERBS)}_{rng.choice(NOUNS)}"
    context = rng.randint(1, 3)
    groups = _grep_groups(rng, _grep_files(rng, None), symbol, context)
    path = rng.choice(list(groups))
    group = rng.choice(groups[path])
    marker_word = rng.choice(["legacy_refund", "shadow_ledger", "eu_vat_rule", "beta_pricing"])
    num, _, text = group[context]
    group[context] = (num, ":", text.replace(")", f", {marker_word})"))
    after_num, _, _ = group[context + 1]
    fact = f"    retry_budget = {rng.randint(3, 40)}  # set for {marker_word}"
    group[context + 1] = (after_num, "-", fact)
    heading = rng.random() < 0.5
    return Case(
        "grep",
        "grep_context",
        _render_grep(groups, heading),
        [
            f"Where is {symbol} called with {marker_word}, and what is set on the line after it?",
            f"What retry budget goes with the `{marker_word}` call?",
        ],
        [text.replace(")", f", {marker_word})").strip(), fact.strip()],
        tool="grep",
    )


def grep_path_case(rng: random.Random) -> Case:
    symbol = f"{rng.choice(VERBS)}_{rng.choice(NOUNS)}"
    named_dir, in_words = rng.choice(list(NAMED_DIRS.items()))
    groups = _grep_groups(rng, _grep_files(rng, named_dir), symbol, rng.randint(0, 2))
    needles = []
    for path, file_groups in groups.items():
        if path.startswith(named_dir):
            for group in file_groups:
                needles += [f"{num}:{text}" for num, sep, text in group if sep == ":"]
    heading = rng.random() < 0.5
    return Case(
        "grep",
        "grep_path",
        _render_grep(groups, heading),
        [
            f"Which of these {symbol} calls are in {in_words}? List each with its line.",
            f"List every match under {named_dir}/ with its line number.",
        ],
        needles,
        tool="grep",
    )


CLASSES: dict[str, Callable[[random.Random], Case]] = {
    "rare_info": rare_info_case,
    "traceback": traceback_case,
    "code_constant_python": python_code_case,
    "code_constant_brace": brace_code_case,
    "code_expression_python": lambda rng: python_code_case(rng, PY_EXPRESSION_FACTS),
    "code_expression_brace": lambda rng: brace_code_case(rng, BRACE_EXPRESSION_FACTS),
    "grep_context": grep_context_case,
    "grep_path": grep_path_case,
}
POSITIONS = ("before", "after", "later")


def build(case: Case, question: str, position: str) -> list[dict[str, Any]]:
    """A conversation with the question before the call, right after it, or turns later."""
    call = {"id": "c1", "type": "function", "function": {"name": case.tool, "arguments": "{}"}}
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are an operations agent with tools."},
        {"role": "user", "content": question if position == "before" else "Pull that up, please."},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": case.output},
    ]
    if position == "after":
        messages.append({"role": "user", "content": question})
    elif position == "later":
        messages += [
            {"role": "assistant", "content": "I have it. What would you like to know?"},
            {"role": "user", "content": "Thanks. Is the deploy window still tonight?"},
            {"role": "assistant", "content": "Yes, the window opens at 22:00 UTC."},
            {"role": "user", "content": "Good. Keep an eye on disk space too."},
            {"role": "assistant", "content": "Will do."},
            {"role": "user", "content": question},
        ]
    return messages


def _texts(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        for item in value:
            _texts(item, out)
    elif isinstance(value, dict):
        for item in value.values():
            _texts(item, out)


def survives(case: Case, question: str, position: str) -> list[str]:
    """The planted facts missing from the compressed request (empty when all survive)."""
    result = compress(build(case, question, position))
    lost = [n for n in case.needles if not needle_present(n, result.messages)]
    texts: list[str] = []
    _texts(result.messages, texts)
    for line in case.indented:  # kept with its indentation, on a line of its own
        if not any(re.search(rf"(?m)^{re.escape(line)}$", t) for t in texts):
            lost.append(f"indentation of {line!r}")
    return lost


SEEDS = range(4)


def _params() -> list[Any]:
    return [
        pytest.param(klass, seed, position)
        for klass in sorted(CLASSES)
        for seed in SEEDS
        for position in POSITIONS
    ]


@pytest.mark.parametrize(("klass", "seed", "position"), _params())
def test_planted_fact_survives(klass: str, seed: int, position: str) -> None:
    rng = random.Random(f"{klass}-{seed}")
    case = CLASSES[klass](rng)
    for question in case.questions:
        lost = survives(case, question, position)
        assert not lost, f"{klass} seed={seed} {position} {question!r}: lost {lost}"


def test_outputs_still_compress() -> None:
    """Coverage is not bought by keeping everything: each kind still saves."""
    for klass, make in sorted(CLASSES.items()):
        case = make(random.Random(f"saving-{klass}"))
        result = compress(build(case, case.questions[0], "before"))
        assert result.compression_ratio > 0.3, (klass, result.transforms_applied)


def main() -> None:
    """Print recall per class and position over more seeds than the tests run."""
    print(f"{'class':22} " + " ".join(f"{p:>8}" for p in POSITIONS))
    for klass, make in sorted(CLASSES.items()):
        cells = []
        for position in POSITIONS:
            kept = total = 0
            for seed in range(20):
                case = make(random.Random(f"{klass}-{seed}"))
                for question in case.questions:
                    total += 1
                    kept += not survives(case, question, position)
            cells.append(f"{100 * kept / total:7.1f}%")
        print(f"{klass:22} " + " ".join(cells))


if __name__ == "__main__":
    main()
