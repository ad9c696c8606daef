"""Held-out cases: one generator per class of loss named in issue 13.

Each generator builds a realistic agent conversation (OpenAI messages, or
Anthropic blocks with a top-level system prompt) around large tool outputs
with one planted fact, and lists the needles the answer needs. Positions of
the question (``before`` the output, right ``after`` it, several turns
``later``) and phrasings rotate with the case index so every class sees each.

Needles are plain strings checked as ``bench/needles.py`` checks them; ``lines``
are whole lines that must survive *with their leading whitespace* at a line
start (indentation in tracebacks and code).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.heldout_data import (
    WORDS,
    code_module,
    iso_time,
    log_lines,
    render_records,
    token_id,
    unique_ids,
)

__all__ = ["CLASSES", "POSITIONS", "HeldoutCase", "Output", "conversation", "generate"]

POSITIONS = ("before", "after", "later")
_MODELS = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4-5-20250929"}


@dataclass(frozen=True)
class Output:
    """One tool call and what it returned."""

    tool: str
    args: dict[str, Any]
    text: str


@dataclass(frozen=True)
class HeldoutCase:
    """A generated request, where its question sits, and the facts the answer needs."""

    id: str
    klass: str
    format: str
    position: str
    phrasing: str
    question: str
    messages: list[dict[str, Any]]
    needles: list[str]
    lines: list[str] = field(default_factory=list)
    system: Any = None

    @property
    def model(self) -> str:
        return _MODELS[self.format]

    def to_json(self) -> dict[str, Any]:
        """The case as ``bench/peer_runner.py`` reads it."""
        return {
            "id": self.id,
            "category": self.klass,
            "format": self.format,
            "layout": f"{self.position}/{self.phrasing}",
            "question": self.question,
            "messages": self.messages,
            "needles": self.needles,
            "lines": self.lines,
            "system": self.system,
        }


# --------------------------------------------------------------------------- conversations

_SYSTEMS = (
    "You are an operations assistant. Use the tools to inspect systems before answering.",
    "You help the platform team debug production. Prefer evidence from tool output.",
    "You are a coding agent working in the user's repository and infrastructure.",
)
_ACKS = (
    "I have the output; let me know what you want to look at.",
    "Got it, the results are above.",
    "That returned a lot of data. What should I focus on?",
)
_DF = """Filesystem      Size  Used Avail Use% Mounted on
/dev/nvme0n1p2  468G  286G  159G  65% /
tmpfs            32G  1.1M   32G   1% /run
/dev/nvme1n1    1.8T  1.2T  542G  69% /var/lib/containers
tmpfs           6.3G   44K  6.3G   1% /run/user/1000"""


def _call_id(fmt: str, rng: random.Random) -> str:
    return token_id(rng, "toolu_01" if fmt == "anthropic" else "call_", 20)


def _calls(fmt: str, rng: random.Random, outputs: Sequence[Output]) -> list[dict[str, Any]]:
    """An assistant turn calling every tool in ``outputs``, then the turn(s) with results."""
    ids = [_call_id(fmt, rng) for _ in outputs]
    if fmt == "openai":
        call = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": cid,
                    "type": "function",
                    "function": {"name": o.tool, "arguments": json.dumps(o.args)},
                }
                for cid, o in zip(ids, outputs, strict=True)
            ],
        }
        results = [
            {"role": "tool", "tool_call_id": cid, "content": o.text}
            for cid, o in zip(ids, outputs, strict=True)
        ]
        return [call, *results]
    call = {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": cid, "name": o.tool, "input": o.args}
            for cid, o in zip(ids, outputs, strict=True)
        ],
    }
    result = {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": cid, "content": o.text}
            for cid, o in zip(ids, outputs, strict=True)
        ],
    }
    return [call, result]


def _text(fmt: str, role: str, text: str) -> dict[str, Any]:
    if fmt == "openai":
        return {"role": role, "content": text}
    return {"role": role, "content": [{"type": "text", "text": text}]}


def _append_user(fmt: str, messages: list[dict[str, Any]], text: str) -> None:
    """A user turn; in Anthropic form it joins a trailing tool-result turn, as the API requires."""
    last = messages[-1] if messages else None
    if fmt == "anthropic" and last is not None and last["role"] == "user":
        last["content"].append({"type": "text", "text": text})
    else:
        messages.append(_text(fmt, "user", text))


def conversation(
    rng: random.Random,
    fmt: str,
    question: str,
    task: str,
    outputs: Sequence[Output],
    position: str,
    *,
    parallel: bool = True,
) -> tuple[list[dict[str, Any]], Any]:
    """Messages (and the Anthropic top-level system prompt) around ``outputs``.

    ``before``: the question opens the turn and the outputs follow (the agent is
    about to answer). ``after``: a neutral task fetches the outputs, the
    question comes right after them. ``later``: the question comes after an
    unrelated exchange with another tool call.
    """
    system = rng.choice(_SYSTEMS)
    messages: list[dict[str, Any]] = (
        [{"role": "system", "content": system}] if fmt == "openai" else []
    )
    _append_user(fmt, messages, question if position == "before" else task)
    if parallel:
        messages.extend(_calls(fmt, rng, outputs))
    else:
        for output in outputs:
            messages.extend(_calls(fmt, rng, [output]))
    if position == "after":
        _append_user(fmt, messages, question)
    elif position == "later":
        messages.append(_text(fmt, "assistant", rng.choice(_ACKS)))
        _append_user(fmt, messages, "Before we dig in: how full are the disks on this box?")
        messages.extend(_calls(fmt, rng, [Output("shell", {"command": "df -h"}, _DF)]))
        messages.append(
            _text(fmt, "assistant", "Root is at 65% and the container volume at 69%; fine for now.")
        )
        _append_user(fmt, messages, "Thanks. About the first tool result: " + question)
    elif position != "before":
        raise ValueError(f"unknown position {position!r}")
    return messages, (system if fmt == "anthropic" else None)


def _layout(index: int, styles: Sequence[str]) -> tuple[str, str, str]:
    """Position, phrasing and format for case ``index`` of a class.

    Walks the position x phrasing grid with a step coprime to its size, so the
    first few cases of a class already differ in both.
    """
    size = len(POSITIONS) * len(styles)
    step = next(k for k in range(4, 4 + 2 * size) if math.gcd(k, size) == 1 and k % 3)
    k = (index * step) % size
    fmt = "anthropic" if index % 4 == 2 else "openai"
    return POSITIONS[k % 3], styles[k // 3], fmt


@dataclass(frozen=True)
class _Built:
    question: str
    task: str
    outputs: list[Output]
    needles: list[str]
    lines: list[str] = field(default_factory=list)
    parallel: bool = True


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _style(rng: random.Random) -> str:
    return rng.choice(("json", "json", "ndjson", "repr", "pprint", "json_compact"))


# --------------------------------------------------------------------------- 1: error rows


def _error_rows(rng: random.Random, phrasing: str) -> _Built:
    domain = rng.choice(("payouts", "probes", "renders"))
    count = rng.randint(220, 380)
    failing = sorted(rng.sample(range(10, count - 10), rng.randint(2, 3)))
    nested = rng.random() < 0.5
    rows: list[dict[str, Any]] = []
    if domain == "payouts":
        ids = unique_ids(rng, "po_", count)
        thing, tool = "payouts", "query_ledger"
        reasons = (
            "beneficiary IBAN failed checksum",
            "rail cutoff missed for value date",
            "merchant under compliance hold",
            "FX quote expired before capture",
        )
        for i, pid in enumerate(ids):
            rows.append(
                {
                    "payout_id": pid,
                    "merchant": f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} Ltd",
                    "amount_cents": rng.randint(500, 9_000_000),
                    "currency": rng.choice(("EUR", "GBP", "USD", "SEK")),
                    "rail": rng.choice(("sepa_ct", "faster_payments", "ach", "swift")),
                    "created_at": iso_time(i * 97 + rng.randint(0, 60)),
                    "attempt": rng.randint(1, 2),
                }
            )
    elif domain == "probes":
        ids = [f"gh{rng.randint(1, 4)}-bay-{i:03d}" for i in range(count)]
        thing, tool = "probe polls", "poll_sensors"
        reasons = (
            "no reply from probe within deadline",
            "frame checksum mismatch on channel 2",
            "calibration table missing for firmware",
            "battery voltage below brown-out level",
        )
        for i, pid in enumerate(ids):
            rows.append(
                {
                    "probe": pid,
                    "reading_c": round(rng.uniform(14, 31), 2),
                    "humidity_pct": round(rng.uniform(35, 92), 1),
                    "polled_at": iso_time(i * 30),
                    "firmware": rng.choice(("3.1.4", "3.1.5", "3.2.0")),
                }
            )
    else:
        ids = [f"rj-{rng.randint(10, 99)}{i:04d}" for i in range(count)]
        thing, tool = "render jobs", "list_render_jobs"
        reasons = (
            "texture cache evicted mid-frame",
            "node lost GPU during tile pass",
            "scene references a deleted asset",
            "output bucket rejected the upload",
        )
        for i, pid in enumerate(ids):
            rows.append(
                {
                    "job": pid,
                    "scene": f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_v{rng.randint(1, 9)}",
                    "frames": rng.randint(24, 2400),
                    "node": f"gpu-{rng.randint(1, 40):02d}",
                    "wall_s": rng.randint(30, 20000),
                    "queued_at": iso_time(i * 61),
                }
            )
    key = next(iter(rows[0]))
    chosen = rng.sample(reasons, len(failing))
    facts: list[tuple[str, str]] = []
    for row_index, reason in zip(failing, chosen, strict=True):
        code = f"{rng.choice('EKPX')}{rng.randint(100, 999)}"
        detail = f"{reason} (ref {token_id(rng, '', 5)})"
        rows[row_index]["error"] = (
            {"code": code, "message": detail, "retryable": rng.random() < 0.5} if nested else detail
        )
        facts.append((str(rows[row_index][key]), detail))
    if phrasing == "literal":
        question = f"Which of these rows have an `error` set? Give me the {key} and the error text."
        needles = [n for fact in facts for n in fact]
    elif phrasing == "paraphrase":
        question = f"Did any of the {thing} not go through? Tell me which ones and why."
        needles = [n for fact in facts for n in fact]
    else:
        question = f"Of the {thing} that went wrong, what happened to the second one in the list?"
        needles = list(facts[1])
    text = render_records(rows, _style(rng))
    return _Built(
        question, f"Pull the latest {thing}.", [Output(tool, {"limit": count}, text)], needles
    )


# --------------------------------------------------------------------------- 2: odd shape


def _odd_shape(rng: random.Random, phrasing: str) -> _Built:
    kind = rng.choice(("extra", "missing"))
    domain = rng.choice(("tenants", "devices"))
    count = rng.randint(200, 340)
    rows: list[dict[str, Any]] = []
    if domain == "tenants":
        ids = unique_ids(rng, "tn-", count, 5)
        for i, tid in enumerate(ids):
            rows.append(
                {
                    "tenant_id": tid,
                    "plan": rng.choice(("starter", "team", "scale", "enterprise")),
                    "region": rng.choice(("eu-north", "eu-west", "us-east", "ap-south")),
                    "owner": f"{rng.choice(WORDS)}.{rng.choice(WORDS)}@example.org",
                    "seats": rng.randint(1, 900),
                    "created": iso_time(i * 3600 * 5, date_only=True),
                }
            )
        extra_key, extra_value = "suspension_note", f"chargeback dispute {token_id(rng, 'DZ-', 4)}"
        extra_words = ("Is any tenant suspended, and why?", "Is any customer account blocked?")
        missing_keys, missing_words = ("owner", "region"), "Which tenant has nobody assigned to it?"
        thing, tool = "tenants", "admin_api"
    else:
        ids = [f"SN{rng.randint(10, 99)}{i:05d}" for i in range(count)]
        for i, sid in enumerate(ids):
            rows.append(
                {
                    "serial": sid,
                    "model": rng.choice(("kx-200", "kx-210", "lumen-s", "lumen-m")),
                    "site": f"{rng.choice(WORDS)}-depot",
                    "firmware": rng.choice(("5.0.1", "5.0.2", "5.1.0")),
                    "last_seen": iso_time(i * 50),
                    "battery_pct": rng.randint(3, 100),
                }
            )
        extra_key = "quarantine_reason"
        extra_value = f"tamper switch tripped {token_id(rng, 'case ', 3)}"
        extra_words = (
            "Has any device been isolated, and why?",
            "Is any unit pulled out of service?",
        )
        missing_keys, missing_words = ("site", "firmware"), "Which device isn't tied to a location?"
        thing, tool = "devices", "fleet_inventory"
    key = next(iter(rows[0]))
    target = rows[rng.randint(20, count - 20)]
    if kind == "extra":
        target[extra_key] = extra_value
        needles = [str(target[key]), extra_value]
        if phrasing == "literal":
            question = f"Which {thing[:-1]} has a `{extra_key}` field and what does it say?"
        elif phrasing == "paraphrase":
            question = rng.choice(extra_words)
        else:
            question = f"Does any {thing[:-1]} record look structurally different from the others?"
    else:
        for name in missing_keys:
            del target[name]
        needles = [str(target[key])]
        if phrasing == "literal":
            question = f"Which {thing[:-1]} record has no `{missing_keys[0]}` field?"
        elif phrasing == "paraphrase":
            question = missing_words
        else:
            question = f"Does any {thing[:-1]} record look structurally different from the others?"
    text = render_records(rows, _style(rng))
    return _Built(question, f"List all {thing}.", [Output(tool, {"all": True}, text)], needles)


# --------------------------------------------------------------------------- 3: extremes


@dataclass(frozen=True)
class _Column:
    """An orderable column, how its values are printed, and words that ask for its ends."""

    name: str
    low: float
    high: float
    render: Callable[[float], Any]
    words_max: str
    words_min: str
    nth_words: str
    range_words: str


def _money(value: float) -> str:
    return f"{value:.2f}"


def _tenths(value: float) -> str:
    return f"{value:.1f}"


def _date(value: float) -> str:
    return iso_time(value * 86400, date_only=True)


def _stamp(value: float) -> str:
    return iso_time(value)


def _clock(value: float) -> str:
    whole = int(value)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _grams(value: float) -> int:
    return int(value)


#: Domain -> (key column, plural noun, prefix of ids, a descriptive column, orderable columns).
_DOMAINS: dict[
    str, tuple[str, str, str, Callable[[random.Random], tuple[str, str]], list[_Column]]
] = {
    "listings": (
        "sku",
        "listings",
        "SKU-",
        lambda r: ("title", f"{r.choice(WORDS)} {r.choice(('lamp', 'kettle', 'stool', 'rug'))}"),
        [
            _Column(
                "unit_price",
                3,
                400,
                _money,
                "most expensive",
                "cheapest",
                "most expensive",
                "cost between {lo} and {hi} euros",
            ),
            _Column(
                "listed_on",
                0,
                1500,
                _date,
                "newest",
                "oldest",
                "newest",
                "went up for sale between {lo} and {hi}",
            ),
            _Column(
                "weight_g",
                50,
                9000,
                _grams,
                "heaviest",
                "lightest",
                "heaviest",
                "weigh between {lo} and {hi} grams",
            ),
        ],
    ),
    "trails": (
        "trail_id",
        "trails",
        "TR",
        lambda r: ("name", f"{r.choice(WORDS).title()} {r.choice(('Loop', 'Ridge', 'Traverse'))}"),
        [
            _Column(
                "distance_km",
                2,
                60,
                _tenths,
                "longest",
                "shortest",
                "longest",
                "are between {lo} and {hi} km long",
            ),
            _Column(
                "surveyed",
                0,
                2200,
                _date,
                "most recently surveyed",
                "least recently surveyed",
                "most recently surveyed",
                "were surveyed between {lo} and {hi}",
            ),
            _Column(
                "gain_m",
                20,
                2400,
                _grams,
                "steepest one (most climbing)",
                "flattest",
                "hilliest",
                "climb between {lo} and {hi} metres",
            ),
        ],
    ),
    "takes": (
        "take",
        "recording takes",
        "tk_",
        lambda r: ("artist", f"{r.choice(WORDS).title()} {r.choice(WORDS).title()}"),
        [
            _Column(
                "duration",
                40,
                1500,
                _clock,
                "longest",
                "shortest",
                "longest",
                "run between {lo} and {hi}",
            ),
            _Column(
                "recorded_at",
                0,
                4_000_000,
                _stamp,
                "most recent",
                "earliest",
                "most recent",
                "were recorded between {lo} and {hi}",
            ),
        ],
    ),
    "builds": (
        "build",
        "builds",
        "b-",
        lambda r: ("branch", r.choice(("main", "release/4.2", f"feat/{r.choice(WORDS)}"))),
        [
            _Column(
                "artifact_mb",
                20,
                900,
                _tenths,
                "largest",
                "smallest",
                "biggest",
                "produced between {lo} and {hi} MB of artifacts",
            ),
            _Column(
                "finished_at",
                0,
                3_000_000,
                _stamp,
                "latest",
                "first",
                "latest",
                "finished between {lo} and {hi}",
            ),
        ],
    ),
}


def _extremes(rng: random.Random, phrasing: str) -> _Built:
    domain = rng.choice(sorted(_DOMAINS))
    key, thing, prefix, describe, columns = _DOMAINS[domain]
    count = rng.randint(220, 360)
    col = rng.choice(columns)
    span = col.high - col.low
    # The asked column's values are distinct once printed and leave a band empty for ranges.
    band = (col.low + span * 0.42, col.low + span * 0.47)
    values: list[float] = []
    seen: set[str] = set()
    for _attempt in range(count * 50):
        if len(values) == count:
            break
        value = rng.uniform(col.low, col.high)
        if band[0] - span * 0.01 <= value <= band[1] + span * 0.01:
            continue
        if str(col.render(value)) in seen:
            continue
        seen.add(str(col.render(value)))
        values.append(value)
    if len(values) < count:
        raise RuntimeError(f"column {col.name} cannot hold {count} distinct printed values")
    rows: list[dict[str, Any]] = []
    for ident, value in zip(unique_ids(rng, prefix, count, 5), values, strict=True):
        label, text = describe(rng)
        row: dict[str, Any] = {key: ident, label: text}
        for other in columns:
            row[other.name] = other.render(
                value if other is col else rng.uniform(other.low, other.high)
            )
        rows.append(row)
    order = sorted(range(count), key=lambda i: values[i])
    if phrasing == "superlative":
        biggest = rng.random() < 0.5
        target = order[-1] if biggest else order[0]
        question = f"Which of the {thing} is the {col.words_max if biggest else col.words_min}?"
        needles = [str(rows[target][key])]
    elif phrasing == "nth":
        nth = rng.randint(2, 4)
        target = order[-nth]
        question = f"Which of the {thing} is the {_ordinal(nth)} {col.nth_words}?"
        needles = [str(rows[target][key])]
    else:
        picks = rng.sample(range(20, count - 20), rng.randint(2, 3))
        for i in picks:
            rows[i][col.name] = col.render(
                rng.uniform(band[0] + span * 0.005, band[1] - span * 0.005)
            )
        low, high = col.render(band[0]), col.render(band[1])
        question = f"Which {thing} " + col.range_words.format(lo=low, hi=high) + "?"
        needles = [str(rows[i][key]) for i in sorted(picks)]
    text = render_records(rows, _style(rng))
    tool = rng.choice(("search_catalog", "run_query", "http_get"))
    return _Built(question, f"Fetch all {thing}.", [Output(tool, {"limit": count}, text)], needles)


# --------------------------------------------------------------------------- 4: logs

_RARE = (
    (
        "placement",
        "tenant {a} reassigned from cell {b} to cell {c} by {who}",
        "{a} reassigned from cell {b} to cell {c}",
        "Did any customers get moved onto different infrastructure in this window? Which, and where to?",
    ),
    (
        "keyring",
        "signing key {a} promoted, {b} retired (operator {who})",
        "signing key {a} promoted",
        "Were the token-signing credentials swapped at any point? List each new one.",
    ),
    (
        "billing",
        "org {a} tier changed {b} -> {c} (requested by {who})",
        "org {a} tier changed {b} -> {c}",
        "Which organisations changed subscription level, from what to what?",
    ),
    (
        "resolver",
        "upstream name server switched to {a} after {b} consecutive failures",
        "name server switched to {a}",
        "Did the service ever change which DNS server it talks to? To which addresses?",
    ),
)


def _rare_values(rng: random.Random, which: int) -> dict[str, str]:
    who = f"{rng.choice(WORDS)}.{rng.choice(WORDS)}"
    if which == 0:
        return {
            "a": token_id(rng, "tn-", 5),
            "b": rng.choice("abcdefgh"),
            "c": rng.choice("pqrstu"),
            "who": who,
        }
    if which == 1:
        return {
            "a": token_id(rng, "kid-", 8).lower(),
            "b": token_id(rng, "kid-", 8).lower(),
            "c": "",
            "who": who,
        }
    if which == 2:
        tiers = rng.sample(("free", "team", "scale", "enterprise"), 2)
        return {"a": token_id(rng, "org_", 6).lower(), "b": tiers[0], "c": tiers[1], "who": who}
    ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(2, 250)}"
    return {"a": ip, "b": str(rng.randint(3, 9)), "c": "", "who": who}


_FRAMES = (
    ("handlers/export.py", "run_export", "batch = self.exporter.flush(window)"),
    ("export/writer.py", "flush", "self._sink.write_rows(rows, schema=self.schema)"),
    ("sinks/columnar.py", "write_rows", "encoded = self._encode(chunk, schema)"),
    ("sinks/columnar.py", "_encode", "raise SchemaDrift(column.name, seen, expected)"),
)
_OTHER_FRAMES = (
    ("handlers/quotes.py", "price_quote", "total = self.rates.lookup(zone, weight)"),
    ("rates/table.py", "lookup", "return self._rows[(zone, band)]"),
)


def _traceback(
    rng: random.Random, service: str, frames: Sequence[tuple[str, str, str]], last: str
) -> list[str]:
    out = ["Traceback (most recent call last):"]
    for path, func, code in frames:
        out.append(f'  File "/srv/{service}/{path}", line {rng.randint(20, 640)}, in {func}')
        out.append(f"    {code}")
    out.append(last)
    return out


def _jvm_crash(
    rng: random.Random, service: str, lines: list[str], phrasing: str
) -> tuple[list[str], list[str], str]:
    """Plant a JVM stack trace (tab-indented frames, a ``Caused by``) and a handled one."""
    org = rng.choice(WORDS)
    acct = token_id(rng, "acct-", 6).lower()
    snap = token_id(rng, "snap-", 6).lower()
    cents = rng.randint(2, 9999)
    apply_line = f"\tat com.{org}.ledger.Replayer.apply(Replayer.java:{rng.randint(40, 400)})"
    open_line = (
        f"\tat com.{org}.store.SnapshotReader.open(SnapshotReader.java:{rng.randint(40, 400)})"
    )
    crash = [
        f"com.{org}.ledger.BalanceMismatch: account {acct} off by {cents} cents after replay",
        apply_line,
        f"\tat com.{org}.ledger.Replayer.run(Replayer.java:{rng.randint(40, 400)})",
        "\tat java.base/java.lang.Thread.run(Thread.java:1583)",
        f"Caused by: com.{org}.store.StaleSnapshot: snapshot {snap} older than journal head",
        open_line,
        f"\tat com.{org}.ledger.Replayer.apply(Replayer.java:{rng.randint(40, 400)})",
        "\t... 2 more",
    ]
    handled = [
        f"com.{org}.http.UpstreamTimeout: pricing call exceeded {rng.randint(2, 9)}000 ms",
        f"\tat com.{org}.http.Client.send(Client.java:{rng.randint(40, 400)})",
        "\tat java.base/java.lang.Thread.run(Thread.java:1583)",
    ]
    spot, other = rng.sample(range(40, len(lines) - 40), 2)
    blocks = {
        spot: [
            f"{lines[spot].split(' ', 1)[0]} ERROR {service}[21] worker: settlement batch aborted",
            *crash,
        ],
        other: [
            f"{lines[other].split(' ', 1)[0]} WARN  {service}[22] http: retrying pricing call",
            *handled,
        ],
    }
    for where in sorted(blocks, reverse=True):
        lines[where + 1 : where + 1] = blocks[where]
    needles = [f"account {acct} off by {cents} cents", f"snapshot {snap} older than journal head"]
    if phrasing == "literal":
        question = "Where is `BalanceMismatch` thrown, and what was the underlying cause?"
    else:
        question = "Why did the settlement batch die, and what was behind it?"
    return needles, [apply_line, open_line], question


def _logs(rng: random.Random, phrasing: str) -> _Built:
    service = rng.choice(("parcelsvc", "quotegw", "manifestd"))
    lines, _ = log_lines(rng, rng.randint(420, 620), rng.randint(0, 80000), service)
    needles: list[str] = []
    exact: list[str] = []
    if phrasing == "rare_event":
        which = rng.randrange(len(_RARE))
        component, template, needle_form, question = _RARE[which]
        spots = sorted(rng.sample(range(30, len(lines) - 30), rng.randint(2, 5)))
        for spot in spots:
            values = _rare_values(rng, which)
            stamp = lines[spot].split(" ", 1)[0]
            lines[spot] = (
                f"{stamp} INFO  {service}[{rng.randint(20, 24)}] {component}: "
                + template.format(**values)
            )
            needles.append(needle_form.format(**values))
    elif rng.random() < 0.5:
        needles, exact, question = _jvm_crash(rng, service, lines, phrasing)
    else:
        drift = f"SchemaDrift: column {rng.choice(WORDS)}_{rng.choice(('id', 'at', 'qty'))} is {rng.choice(('int64', 'string'))}, expected {rng.choice(('decimal(12,2)', 'timestamp'))}"
        crash = _traceback(rng, service, _FRAMES, drift)
        handled = _traceback(
            rng,
            service,
            _OTHER_FRAMES,
            f"KeyError: ('{rng.choice('abcd')}{rng.randint(1, 9)}', {rng.randint(1, 7)})",
        )
        spot, other = sorted(rng.sample(range(40, len(lines) - 40), 2))
        if rng.random() < 0.5:
            spot, other = other, spot
        job = token_id(rng, "exp-", 6).lower()
        stamp = lines[spot].split(" ", 1)[0]
        crash_block = [f"{stamp} ERROR {service}[21] worker: export job {job} aborted", *crash]
        stamp2 = lines[other].split(" ", 1)[0]
        handled_block = [
            f"{stamp2} WARN  {service}[22] http: quote pricing failed, retrying",
            *handled,
        ]
        first, second = (spot, crash_block), (other, handled_block)
        for where, block in sorted((first, second), reverse=True):
            lines[where + 1 : where + 1] = block
        needles = [drift.split(": ", 1)[1], crash[-3].strip()]
        exact = [crash[-2], crash[-3]]
        if phrasing == "literal":
            question = "Where is `SchemaDrift` raised from, and what did it complain about?"
        else:
            question = "Why did the export job die? Which function actually failed, and on what?"
    text = "\n".join(lines)
    cmd = {"command": f"journalctl -u {service} --since -2h --no-pager"}
    return _Built(
        question,
        f"Show me the recent {service} logs.",
        [Output("shell", cmd, text)],
        needles,
        exact,
    )


# --------------------------------------------------------------------------- 5: code behaviour

_PLANTS = (
    (
        'class {P}Pool:\n    """Pooled upstream connections."""\n\n    def reap(self):\n{pad1}        for conn in list(self._conns):\n            if conn.idle_for > {N}:\n                conn.close()\n                self._conns.remove(conn)\n{pad2}        return len(self._conns)\n',
        "conn.idle_for > {N}",
        "How long can a pooled connection sit unused before it gets closed?",
        "What does `{P}Pool.reap` compare `idle_for` against?",
    ),
    (
        'class ChunkedUpload:\n    """One multi-part upload."""\n\n    part_size = 8 * 1024 * 1024\n    max_parts = {N}\n    checksum = "crc32c"\n\n    def add(self, part):\n{pad1}        self._parts.append(part)\n{pad2}        return part\n',
        "max_parts = {N}",
        "What's the most pieces one upload can be split into?",
        "What is `ChunkedUpload.max_parts` set to?",
    ),
    (
        "def send_with_backoff(client, message):\n    delay = 0.5\n{pad1}    for attempt in range(12):\n        if client.send(message):\n            return attempt\n        time.sleep(delay)\n        delay = min(delay * 2, {N})\n{pad2}    return -1\n",
        "min(delay * 2, {N})",
        "What's the longest the sender waits between two delivery attempts?",
        "What cap does `send_with_backoff` put on `delay`?",
    ),
    (
        'class RateGate:\n    """Per-key admission."""\n\n    def admit(self, key):\n{pad1}        window = self._windows.setdefault(key, [])\n        if len(window) >= {N}:\n            raise Throttled(key)\n        window.append(time.monotonic())\n{pad2}        return True\n',
        "len(window) >= {N}",
        "How many calls does one client get per window before it is throttled?",
        "At what `window` length does `RateGate.admit` raise?",
    ),
    (
        'def lease_seconds(kind):\n{pad1}    if kind == "bulk":\n        return {N}\n    if kind == "interactive":\n        return 30\n{pad2}    return 300\n',
        "return {N}",
        "How long do bulk jobs get to hold their lease?",
        'What does `lease_seconds` return for `"bulk"`?',
    ),
)


_FLAT = (
    "stats = self._stats.snapshot()",
    'logger.debug("%s: pass %d", self.name, len(self._seen))',
    'self._metrics.incr("{w}")',
    'limit = self.config.get("{w}_limit")',
    'marker = self._markers.pop("{w}", None)',
    "self._seen.add(id(self))",
    "started = time.monotonic()",
    "token = self._tokens.get(self.name)",
)


def _pad(rng: random.Random, indent: str) -> str:
    """Flat noise statements at ``indent``, so the planted body is long enough to elide."""
    picks = [rng.choice(_FLAT).format(w=rng.choice(WORDS)) for _ in range(rng.randint(4, 8))]
    return "".join(f"{indent}{line}\n" for line in picks)


def _code(rng: random.Random, phrasing: str) -> _Built:
    template, needle, behaviour, literal = rng.choice(_PLANTS)
    values = {"N": str(rng.randint(101, 4999)), "P": rng.choice(WORDS).title()}
    indent = "        " if template.startswith("class") else "    "
    planted = template.format(pad1=_pad(rng, indent), pad2=_pad(rng, indent), **values)
    module = code_module(rng, [planted], classes=rng.randint(12, 18))
    question = (behaviour if phrasing == "behaviour" else literal).format(**values)
    path = f"src/{rng.choice(WORDS)}/{rng.choice(('runtime', 'transport', 'core'))}.py"
    return _Built(
        question,
        f"Open {path}.",
        [Output("read_file", {"path": path}, module)],
        [needle.format(**values)],
    )


# --------------------------------------------------------------------------- 6: grep context

_FOLDERS = (
    ("db/migrations/", "{n:04d}_{w}.py", "the database migration scripts"),
    ("tests/fixtures/", "{w}_fixture.py", "the test fixtures"),
    ("scripts/ops/", "{w}.py", "the operations scripts"),
    ("docs/examples/", "{w}_example.py", "the documentation examples"),
)
_OTHER_DIRS = (
    "src/app/",
    "src/app/handlers/",
    "src/app/jobs/",
    "src/lib/",
    "tests/unit/",
    "tools/",
)
_SYMBOLS = (
    ("open_channel", "retry_budget"),
    ("publish_event", "priority"),
    ("acquire_lease", "ttl_s"),
)
_CONTEXT = (
    '    log.info("starting %s", name)',
    "    cfg = load_settings()",
    "    # keep the handle short-lived",
    "        host=cfg.broker_host,",
    "        tls=True,",
    "    )",
    '    with tracer.span("io"):',
    "    if dry_run:",
    "        return None",
)


def _grep(rng: random.Random, phrasing: str) -> _Built:
    symbol, kwarg = rng.choice(_SYMBOLS)
    target_dir, pattern, words = rng.choice(_FOLDERS)
    fmt = rng.choice(("grep_c", "grep_a", "rg_heading"))
    files: list[str] = []
    for _ in range(rng.randint(40, 56)):
        folder = rng.choice(_OTHER_DIRS)
        files.append(f"{folder}{rng.choice(WORDS)}_{rng.choice(WORDS)}.py")
    target_file = target_dir + pattern.format(
        n=rng.randint(10, 80), w=f"{rng.choice(WORDS)}_{rng.choice(WORDS)}"
    )
    files.insert(rng.randint(5, len(files) - 5), target_file)
    answer = str(rng.randint(101, 999))
    groups: dict[str, list[tuple[int, list[tuple[int, str, bool]]]]] = {}
    for path in files:
        line_no = rng.randint(5, 40)
        for _ in range(1 if path == target_file else rng.randint(1, 4)):
            value = str(rng.randint(1, 99))
            if path == target_file:
                value = answer
            before = [rng.choice(_CONTEXT) for _ in range(2)]
            after = [rng.choice(_CONTEXT[3:5]), f"        {kwarg}={value},"]
            group = [(line_no + k, text, False) for k, text in enumerate(before)]
            group.append((line_no + 2, f"    handle = {symbol}(", True))
            group.extend((line_no + 3 + k, text, False) for k, text in enumerate(after))
            if fmt == "grep_a":
                group = group[2:]
            groups.setdefault(path, []).append((line_no, group))
            line_no += rng.randint(12, 90)
    out: list[str] = []
    if fmt == "rg_heading":
        for path in files:
            if out:
                out.append("")
            out.append(path)
            for g, (_, group) in enumerate(groups[path]):
                if g:
                    out.append("--")
                out.extend(f"{n}{':' if m else '-'}{t}" for n, t, m in group)
        command = f"rg -n -C2 --heading '{symbol}\\(' ."
    else:
        for path in files:
            for _, group in groups[path]:
                if out:
                    out.append("--")
                out.extend(
                    f"{path}{':' if m else '-'}{n}{':' if m else '-'}{t}" for n, t, m in group
                )
        command = f"grep -rn {'-A2' if fmt == 'grep_a' else '-C2'} '{symbol}(' ."
    needles = [f"{kwarg}={answer}"]
    if phrasing == "path_words":
        question = f"In {words}, what `{kwarg}` is passed to `{symbol}`, and in which file?"
        needles.append(target_file)
    else:
        question = f"What `{kwarg}` does {target_file} pass to `{symbol}`?"
    return _Built(
        question,
        f"Find every call to {symbol}.",
        [Output("shell", {"command": command}, "\n".join(out))],
        needles,
    )


# --------------------------------------------------------------------------- 7: answer in a later output


#: A refund cause written in the data, and the same cause in a customer's words.
_SPECIAL_REFUNDS = (
    ("water damage", "got soaked on the way"),
    ("seal broken", "had been opened before it arrived"),
    ("wrong colour", "was not the shade the customer ordered"),
)


def _later_output(rng: random.Random, phrasing: str) -> _Built:
    count = rng.randint(160, 240)
    refunds = []
    refund_ids = unique_ids(rng, "rf_", count)
    reasons = (
        "parcel arrived crushed",
        "delivered to wrong address",
        "courier never collected",
        "item missing from box",
        "duplicate charge",
        "late beyond promise window",
    )
    for i, rid in enumerate(refund_ids):
        refunds.append(
            {
                "refund_id": rid,
                "order": token_id(rng, "ord-", 7),
                "amount": f"{rng.uniform(3, 480):.2f}",
                "reason": rng.choice(reasons),
                "issued": iso_time(i * 777),
            }
        )
    cause, described = rng.choice(_SPECIAL_REFUNDS)
    special_reason = f"{cause} reported via {token_id(rng, 'ticket #', 5)}"
    nth = rng.randint(4, 9)
    target = refunds[nth - 1] if phrasing == "nth" else refunds[rng.randint(30, count - 30)]
    target["reason"] = special_reason
    orders = [
        {
            "order": token_id(rng, "ord-", 7),
            "customer": f"{rng.choice(WORDS)}-{rng.randint(100, 999)}",
            "items": rng.randint(1, 9),
            "total": f"{rng.uniform(5, 900):.2f}",
            "placed": iso_time(i * 411),
        }
        for i in range(rng.randint(180, 260))
    ]
    log, _ = log_lines(rng, rng.randint(260, 360), 0, "courierd")
    outputs = [
        Output(
            "run_query",
            {"sql": "select * from orders order by placed"},
            render_records(orders, _style(rng)),
        ),
        Output("shell", {"command": "tail -n 400 /var/log/courierd.log"}, "\n".join(log)),
        Output(
            "run_query",
            {"sql": "select * from refunds order by issued"},
            render_records(refunds, _style(rng)),
        ),
    ]
    answer_at = rng.choice((1, 2))
    refund_output = outputs.pop(2)
    outputs.insert(answer_at, refund_output)
    if phrasing == "nth":
        question = f"What's the reason on the {_ordinal(nth)} refund in the list?"
        needles = [special_reason, str(target["refund_id"])]
    elif phrasing == "paraphrase":
        question = f"Which refund was for a parcel that {described}, and which ticket reported it?"
        needles = [special_reason, str(target["refund_id"])]
    else:
        question = f"Why was refund {target['refund_id']} issued?"
        needles = [special_reason]
    return _Built(
        question,
        "Pull orders, the courier log and refunds.",
        outputs,
        needles,
        parallel=rng.random() < 0.5,
    )


# --------------------------------------------------------------------------- 8: qualified names

_METHODS = ("settle", "release", "rotate", "refund")


def _method(cls_err: str, name: str, attr: str, rng: random.Random) -> str:
    pad = _pad(rng, "        ")
    return (
        f"    def {name}(self, amount):\n"
        f'        """{name.title()} against this book."""\n'
        f"{pad}"
        f"        if amount > self.{attr}:\n"
        f"            raise {cls_err}(self.ident, amount)\n"
        f"        self._entries.append(amount)\n"
        f"        return amount\n"
    )


def _qualified(rng: random.Random, phrasing: str) -> _Built:
    method = rng.choice(_METHODS)
    owner, other = (
        w.title() + s for w, s in zip(rng.sample(WORDS, 2), ("Account", "Invoice"), strict=True)
    )
    err_owner = f"{rng.choice(WORDS).title()}LimitExceeded"
    err_other = f"{rng.choice(WORDS).title()}Overdrawn"
    blocks = [
        f'class {owner}:\n    """A customer\'s book."""\n\n'
        + _method(err_owner, method, "ceiling", rng),
        f'class {other}:\n    """An invoice\'s book."""\n\n'
        + _method(err_other, method, "cap", rng),
        f"def {method}_pending(books):\n"
        f"    for book in books:\n"
        f"        if book.frozen:\n"
        f"            raise {rng.choice(WORDS).title()}Frozen(book)\n"
        f"    return len(books)\n",
    ]
    module = code_module(rng, blocks, classes=rng.randint(12, 16))
    if phrasing == "dotted":
        question = f"What does `{owner}.{method}` raise when the amount is over the limit?"
    elif phrasing == "words":
        question = f"In the {method} method of {owner}, what happens when the amount is too large?"
    else:
        question = f"What happens in {owner}.{method}() if the amount exceeds what is allowed?"
    path = f"src/books/{rng.choice(WORDS)}.py"
    return _Built(
        question,
        f"Read {path}.",
        [Output("read_file", {"path": path}, module)],
        [f"raise {err_owner}(self.ident, amount)"],
    )


# --------------------------------------------------------------------------- registry

#: Class name -> (generator, phrasings it rotates through).
CLASSES: dict[str, tuple[Callable[[random.Random, str], _Built], tuple[str, ...]]] = {
    "1-error-rows": (_error_rows, ("literal", "paraphrase", "nth")),
    "2-odd-shape": (_odd_shape, ("literal", "paraphrase", "shape")),
    "3-extremes": (_extremes, ("superlative", "nth", "range")),
    "4-logs": (_logs, ("rare_event", "traceback", "literal")),
    "5-code": (_code, ("behaviour", "literal")),
    "6-grep": (_grep, ("path_words", "literal")),
    "7-later-output": (_later_output, ("literal", "nth", "paraphrase")),
    "8-qualified": (_qualified, ("dotted", "words", "call")),
}


def generate(seed: int, per_class: int, classes: Sequence[str] | None = None) -> list[HeldoutCase]:
    """``per_class`` cases of every class (or of ``classes``), the same for the same seed."""
    cases: list[HeldoutCase] = []
    for name in classes or CLASSES:
        builder, styles = CLASSES[name]
        for index in range(per_class):
            rng = random.Random(f"heldout:{seed}:{name}:{index}")
            position, phrasing, fmt = _layout(index, styles)
            built = builder(rng, phrasing)
            messages, system = conversation(
                rng,
                fmt,
                built.question,
                built.task,
                built.outputs,
                position,
                parallel=built.parallel,
            )
            cases.append(
                HeldoutCase(
                    id=f"{name}-{index:02d}-{position}-{phrasing}-{fmt[:2]}",
                    klass=name,
                    format=fmt,
                    position=position,
                    phrasing=phrasing,
                    question=built.question,
                    messages=messages,
                    needles=list(built.needles),
                    lines=list(built.lines),
                    system=system,
                )
            )
    return cases
