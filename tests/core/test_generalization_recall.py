"""A question asked after an output gets back the part it names, from generated data.

The compressed output is fixed when it arrives; a later question that names a
whole group (every match under a directory, every row holding a value), a value
range or an extreme in words must still find those parts through recall. Each
case draws its data from realistic vocabularies, plants the facts, asks one of
several phrasings right after the output or several turns later, and checks
every planted fact is in the request.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom import compress, retrieve
from headroom.core.store import InMemoryStore
from tests.conftest import needle_present

POSITIONS = ("after", "later")

# --- conversations ------------------------------------------------------------------------


def _call(call_id: str, name: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


def conversation(output: str, question: str, position: str, tool: str) -> list[dict[str, Any]]:
    """The question before the call, right after the output, or a few turns later."""
    first = question if position == "before" else "Run it and keep the result at hand."
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are an engineering assistant with tools."},
        {"role": "user", "content": first},
        {"role": "assistant", "content": None, "tool_calls": [_call("c1", tool)]},
        {"role": "tool", "tool_call_id": "c1", "content": output},
        {"role": "assistant", "content": "Done; it is a long result."},
    ]
    if position == "before":
        return messages
    if position == "later":
        messages += [
            {"role": "user", "content": "Is the release branch frozen yet?"},
            {"role": "assistant", "content": "Yes, since this morning."},
        ]
    messages.append({"role": "user", "content": question})
    return messages


def _lost(messages: list[dict[str, Any]], needles: list[str]) -> list[str]:
    result = compress(messages)
    return [n for n in needles if not needle_present(n, result.messages)]


# --- grep: every match under a directory named in words -----------------------------------

_AREAS = [
    "payments",
    "billing",
    "ledger",
    "notifications",
    "webhooks",
    "scheduler",
    "plugins",
    "adapters",
    "reports",
    "onboarding",
    "exports",
    "sandbox",
]
_FILLER_DIRS = ["src/core", "src/api", "lib/net", "src/util", "tests/unit", "cmd/server"]
_STEMS = ["client", "handler", "model", "views", "store", "queue", "cache", "router"]
_CONTEXT = ["    log.debug(msg)", "    if not ok:", "    return result", "    value = load(key)"]


def _grep_case(rng: random.Random) -> tuple[str, str, list[str], str]:
    """grep output over many files, one area named in words; (output, area, needles, style)."""
    area = rng.choice(_AREAS)
    symbol = f"{rng.choice(['emit', 'charge', 'notify', 'retry'])}_{rng.choice(_STEMS)}"
    area_dir = rng.choice([f"services/{area}", f"{area}", f"internal/{area}/v2"])
    files = [
        f"{rng.choice(_FILLER_DIRS)}/{rng.choice(_STEMS)}_{k}.py"
        for k in range(rng.randint(30, 60))
    ]
    files += [f"{area_dir}/{rng.choice(_STEMS)}_{k}.py" for k in range(rng.randint(2, 5))]
    rng.shuffle(files)
    context = rng.randint(0, 2)
    heading = rng.random() < 0.5
    lines: list[str] = []
    needles: list[str] = []
    for path in files:
        if heading:
            lines.append(path)
        number = 1
        for g in range(rng.randint(1, 6)):
            number += rng.randint(2 * context + 2, 80)
            if context and (g or not heading):
                lines.append("--")
            for d in range(-context, context + 1):
                text = f"    total = {symbol}(batch, {rng.randint(1, 999)})" if d == 0 else ""
                text = text or rng.choice(_CONTEXT)
                sep = ":" if d == 0 else "-"
                n = number + d
                lines.append(f"{n}{sep}{text}" if heading else f"{path}{sep}{n}{sep}{text}")
                if d == 0 and path.startswith(area_dir):
                    needles.append(f"{n}:{text}")
        if heading:
            lines.append("")
    style = "heading" if heading else "flat"
    return "\n".join(lines), area, needles, style


_GREP_ASKS = [
    "What matched under the {area} service folder?",
    "Which of those hits are in the {area} code? Give me the line numbers.",
    "List the {area} matches only.",
    "Anything in the {area} directory among those results?",
]


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("seed", range(6))
def test_grep_matches_under_a_directory_named_in_words(seed: int, position: str) -> None:
    rng = random.Random(f"grep-area-{seed}")
    output, area, needles, style = _grep_case(rng)
    question = rng.choice(_GREP_ASKS).format(area=area)
    lost = _lost(conversation(output, question, position, "grep"), needles)
    assert not lost, (seed, style, question, lost)


def test_grep_group_marker_says_what_was_appended() -> None:
    rng = random.Random("grep-marker")
    output, area, _, _ = _grep_case(rng)
    result = compress(conversation(output, f"What matched under the {area} folder?", "after", "g"))
    last = result.messages[-1]["content"]
    assert f"{area}/:" in last or f"matches under {area}" in last or f"/{area}/" in last
    assert "matches under" in last


def test_a_word_naming_most_paths_appends_no_group() -> None:
    """The directory every match sits under (the search root) names nothing."""
    rng = random.Random("grep-root")
    output, _, _, _ = _grep_case(rng)
    rooted = "\n".join(f"repo/{line}" if "/" in line[:40] else line for line in output.split("\n"))
    result = compress(conversation(rooted, "What matched under the repo folder?", "after", "g"))
    assert "matches under" not in result.messages[-1]["content"]


# --- records: the rows holding a value the question names ----------------------------------

_TEAMS = ["atlas", "borealis", "cygnus", "draco", "eridanus", "fornax", "gemini", "hydra"]


def _records_case(rng: random.Random, n: int) -> tuple[list[dict[str, Any]], str, list[str]]:
    """Jobs where one team owns a few rows; (rows, team, the ids of its rows)."""
    team = rng.choice(_TEAMS)
    others = [t for t in _TEAMS if t != team]
    owned = set(rng.sample(range(10, n - 10), rng.randint(3, 6)))
    rows = [
        {
            "job": f"job-{rng.randrange(16**6):06x}",
            "team": team if i in owned else rng.choice(others),
            "queue": rng.choice(["default", "batch", "gpu"]),
            "minutes": rng.randint(1, 600),
        }
        for i in range(n)
    ]
    return rows, team, [str(rows[i]["job"]) for i in sorted(owned)]


@settings(
    max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(seed=st.integers(0, 10**6), n=st.integers(200, 500), position=st.sampled_from(POSITIONS))
def test_rows_holding_a_named_value_come_back_whole(seed: int, n: int, position: str) -> None:
    rng = random.Random(seed)
    rows, team, needles = _records_case(rng, n)
    asks = ["Which jobs belong to team {t}?", "List the {t} jobs.", "What did {t} run?"]
    question = rng.choice(asks).format(t=team.title() if rng.random() < 0.5 else team)
    lost = _lost(conversation(json.dumps(rows), question, position, "jobs"), needles)
    assert not lost, (seed, question, lost)


def test_a_value_group_too_large_is_named_with_its_query() -> None:
    rng = random.Random("big-group")
    rows, team, _ = _records_case(rng, 400)
    for row in rows[:90]:
        row["team"] = team
    store = InMemoryStore()
    messages = conversation(json.dumps(rows), f"Which jobs belong to team {team}?", "after", "j")
    last = compress(messages, store=store).messages[-1]["content"]
    assert f'query="team={team}"' in last and "too many to append" in last
    ccr_hash = last.split('hash="', 1)[1].split('"', 1)[0]
    answer = retrieve(ccr_hash, f"team={team}", store=store)
    assert answer.count(f'"team":"{team}"') == min(sum(r["team"] == team for r in rows), 50)


# --- records: rows in a value range, asked in the ways English says a range -------------------

#: (column name, how its numbers are written): names from ordinary telemetry and billing data.
_QUANTITIES = [
    ("runtime", "int"),
    ("latency", "ms"),
    ("attempts", "int"),
    ("payload_kb", "int"),
    ("score", "float"),
    ("cost", "usd"),
    ("queue_depth", "int"),
    ("wall_clock", "s"),
    ("retries", "int"),
    ("disk_mb", "float"),
    ("temperature", "float"),
    ("price", "usd"),
]


def _written(value: float, style: str) -> Any:
    if style == "ms":
        return f"{int(value)}ms"
    if style == "s":
        return f"{value:.1f}s"
    if style == "usd":
        return f"${value:.2f}"
    if style == "float":
        return round(value + 0.25, 2)
    return int(value)


def _interval(rng: random.Random, low: int, high: int, name: str, unit: str) -> str:
    """A question asking for `low`..`high`, in one of the ways English says an interval."""
    u = f" {unit}" if unit else ""
    said = rng.choice(
        [
            f"between {low} and {high}{u}",
            f"between {low}{u} and {high}{u}",
            f"from {low} to {high}{u}",
            f"{low} to {high}{u}",
            f"in the {low}-{high}{u} range",
            f"at least {low} and at most {high}{u}",
            f"no less than {low} and no more than {high}{u}",
            f">= {low} and <= {high}",
            f"{low}{u} or more but {high}{u} or less",
        ]
    )
    subject = rng.choice([f"a {name.replace('_', ' ')}", f"{name}", "a value", ""])
    return rng.choice(
        [
            f"Which rows have {subject} {said}?",
            f"List the entries {said}.",
            f"anything with {subject} {said}?",
        ]
    )


def _range_case(rng: random.Random, n: int, one_sided: bool) -> tuple[str, str, list[str]]:
    """Rows with several quantities; rows planted in an emptied band of one of them (or, one
    sided, beyond a threshold no other row passes). (output, question, planted ids)."""
    columns = rng.sample(_QUANTITIES, rng.randint(3, 6))
    lo, hi = 100, 1000
    values = [[rng.uniform(lo, hi) for _ in columns] for _ in range(n)]
    target, (name, style) = 0, columns[0]
    planted = rng.sample(range(10, n - 10), rng.randint(6, 12) if one_sided else rng.randint(2, 5))
    low, high = 600, 640
    if one_sided:
        for row in values:
            row[target] = min(row[target], 900)
        for i in planted:
            values[i][target] = rng.uniform(951, 999)
    else:
        for row in values:
            if low - 1 <= row[target] <= high + 1:
                row[target] += 60
        for i in planted:
            values[i][target] = rng.uniform(low + 1, high - 1)
    rows = [
        {"run": f"r-{rng.randrange(16**6):06x}"}
        | {c: _written(v, st) for (c, st), v in zip(columns, row, strict=True)}
        for row in values
    ]
    unit = (
        {"ms": "ms", "s": "seconds", "usd": "dollars"}.get(style, "") if rng.random() < 0.5 else ""
    )
    if one_sided:
        subject = rng.choice([name.replace("_", " "), "a value"])
        said = rng.choice(
            ["over 950", "above 950", "more than 950", "at least 951", "> 950", "950 or more"]
        )
        question = rng.choice([f"Which runs have {subject} {said}{' ' + unit if unit else ''}?"])
    else:
        question = _interval(rng, low, high, name, unit)
    return json.dumps(rows), question, [str(rows[i]["run"]) for i in planted]


@settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(150, 450),
    position=st.sampled_from(("before", *POSITIONS)),
    one_sided=st.booleans(),
)
def test_rows_in_a_range_come_back_whichever_column_holds_it(
    seed: int, n: int, position: str, one_sided: bool
) -> None:
    rng = random.Random(seed)
    output, question, needles = _range_case(rng, n, one_sided)
    lost = _lost(conversation(output, question, position, "query"), needles)
    assert not lost, (seed, position, question, lost)


def _dates_case(rng: random.Random, n: int) -> tuple[str, str, list[str]]:
    """Tickets with two timestamps; a few opened inside a fortnight nothing else falls in."""
    rows = []
    for _ in range(n):
        month = rng.choice([1, 2, 4, 5, 6])
        opened = f"2024-{month:02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:15:00Z"
        rows.append(
            {
                "ticket": f"T-{rng.randrange(10**6):06d}",
                "opened": opened,
                "closed": f"2024-{month + 1:02d}-{rng.randint(1, 28):02d}",
                "priority": rng.choice(["p1", "p2", "p3"]),
            }
        )
    planted = rng.sample(range(10, n - 10), rng.randint(2, 5))
    for i in planted:
        rows[i]["opened"] = f"2024-03-{rng.randint(3, 14):02d}T09:30:00Z"
    question = rng.choice(
        [
            "Which tickets were opened between 2024-03-01 and 2024-03-15?",
            "What came in from 2024-03-01 to 2024-03-15?",
            "List tickets with a date between 2024-03-01 and 2024-03-15.",
            "anything between 2024-03-01 and 2024-03-15?",
        ]
    )
    return json.dumps(rows), question, [str(rows[i]["ticket"]) for i in planted]


@pytest.mark.parametrize("position", ("before", *POSITIONS))
@pytest.mark.parametrize("seed", range(4))
def test_rows_in_a_date_range_come_back(seed: int, position: str) -> None:
    rng = random.Random(f"dates-{seed}")
    output, question, needles = _dates_case(rng, rng.randint(200, 400))
    lost = _lost(conversation(output, question, position, "tickets"), needles)
    assert not lost, (seed, position, question, lost)


# --- records: a superlative whose column the question does not name ------------------------

#: Duration columns named without any word a superlative lexicon would hold.
_SPANS = ["runtime", "took", "wall", "turnaround", "cycle", "build_secs", "wait_ms", "span"]
_SUPERLATIVE_ASKS = {
    "longest": True,
    "slowest": True,
    "shortest": False,
    "fastest": False,
    "highest": True,
    "lowest": False,
}


@settings(
    max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(150, 450),
    position=st.sampled_from(("before", *POSITIONS)),
    word=st.sampled_from(sorted(_SUPERLATIVE_ASKS)),
    nth=st.integers(1, 12),
)
def test_a_superlative_finds_a_column_it_does_not_name(
    seed: int, n: int, position: str, word: str, nth: int
) -> None:
    """ "The 8th longest" with the durations in a column called `runtime` or `took`: the
    lexicon knows neither name, so the superlative ranks the columns holding durations,
    else every orderable column."""
    rng = random.Random(seed)
    span = rng.choice(_SPANS)
    style = rng.choice(["int", "ms", "s"]) if not span.endswith(("_ms", "_secs")) else "int"
    other = rng.sample([q for q in _QUANTITIES if q[1] == "int" and q[0] not in _SPANS], 2)
    keys = rng.sample(range(10, 50_000), n)  # distinct, so every rank has one row
    rows = [
        {
            "job": f"job-{rng.randrange(16**6):06x}",
            span: _written(keys[i] / (10 if style == "s" else 1), style),
            other[0][0]: rng.randint(0, 10**5),
            other[1][0]: rng.randint(0, 10**5),
            "queued": f"2025-0{rng.randint(1, 9)}-{rng.randint(10, 28)}",
        }
        for i in range(n)
    ]
    descending = _SUPERLATIVE_ASKS[word]
    order = sorted(range(n), key=lambda i: keys[i], reverse=descending)
    ordinal = {1: "", 2: "2nd ", 3: "3rd "}.get(nth, f"{nth}th ")
    question = rng.choice(
        [
            f"Which job was the {ordinal}{word}?",
            f"Show me the {ordinal}{word} one.",
            f"What is the {ordinal}{word} run here?",
        ]
    )
    needle = str(rows[order[nth - 1]]["job"])
    lost = _lost(conversation(json.dumps(rows), question, position, "jobs"), [needle])
    assert not lost, (seed, span, style, position, question)


@pytest.mark.parametrize("position", ("before", *POSITIONS))
@pytest.mark.parametrize("seed", range(4))
def test_rows_between_two_times_of_day_come_back(seed: int, position: str) -> None:
    """A clock bound against timestamps (no duration column) reads as a time of day."""
    rng = random.Random(f"time-of-day-{seed}")
    n = rng.randint(200, 400)
    hour = rng.randint(1, 22)
    sep = rng.choice(["T", " "])

    def stamp(h: int, m: int) -> str:
        return f"2025-0{rng.randint(1, 9)}-{rng.randint(10, 28)}{sep}{h:02d}:{m:02d}:{rng.randint(0, 59):02d}"

    rows = [
        {
            "event": f"ev-{rng.randrange(16**6):06x}",
            "kind": rng.choice(["deploy", "restart", "scale", "config"]),
            "at": stamp(rng.choice([h for h in range(24) if h != hour]), rng.randint(0, 59)),
            "count": rng.randint(1, 500),
        }
        for _ in range(n)
    ]
    planted = rng.sample(range(10, n - 10), rng.randint(2, 5))
    for i in planted:
        rows[i]["at"] = stamp(hour, rng.randint(5, 25))
    question = rng.choice(
        [
            f"What happened between {hour:02d}:00 and {hour:02d}:30?",
            f"Which events were from {hour:02d}:00 to {hour:02d}:30?",
            f"anything after {hour:02d}:00 and before {hour:02d}:30?",
        ]
    )
    lost = _lost(
        conversation(json.dumps(rows), question, position, "events"),
        [str(rows[i]["event"]) for i in planted],
    )
    assert not lost, (seed, position, question, lost)


def test_appended_rows_that_do_not_fit_are_counted_with_a_query() -> None:
    from headroom.core.config import CompressConfig

    rng = random.Random("left-out")
    rows = [{"id": f"x-{i:04d}", "size": rng.randint(1, 10_000), "tag": "t"} for i in range(400)]
    question = "Which items have a size between 4000 and 4600?"
    expected = sum(4000 <= r["size"] <= 4600 for r in rows)
    config = CompressConfig(max_recall_tokens=150)
    last = compress(conversation(json.dumps(rows), question, "after", "items"), config=config)
    text = last.messages[-1]["content"]
    assert 10 < expected <= 50 and "more matching parts left out for space" in text


@pytest.mark.parametrize("seed", range(4))
def test_grep_group_is_the_paths_holding_most_of_the_named_words(seed: int) -> None:
    """ "the {parent} {area} matches" names {parent}/{area}/, not its sibling directories."""
    rng = random.Random(f"nested-{seed}")
    parent = rng.choice(["services", "modules", "packages", "apps"])
    output, area, needles, _ = _grep_case(rng)
    siblings = [a for a in _AREAS if a != area][:3]
    lines = []
    for line in output.split("\n"):
        for prefix in (f"services/{area}", f"internal/{area}/v2", f"{area}/"):
            if line.startswith(prefix):
                line = f"{parent}/{area}/" + line[len(prefix) :].lstrip("/")
                break
        else:
            if "/" in line[:40] and rng.random() < 0.15:
                line = f"{parent}/{rng.choice(siblings)}/{line}"
        lines.append(line)
    question = f"Which matches are in the {parent} {area} code?"
    result = compress(conversation("\n".join(lines), question, "after", "grep"))
    last = result.messages[-1]["content"]
    assert not [n for n in needles if not needle_present(n, result.messages)]
    assert not any(f"{parent}/{s}/" in last for s in siblings), last[-3000:]


@pytest.mark.parametrize("seed", range(3))
def test_retrieve_reads_a_range_or_rank_in_words(seed: int) -> None:
    """The left-out line invites a query: a range or a rank said in words answers it."""
    rng = random.Random(f"retrieve-words-{seed}")
    output, question, needles = _range_case(rng, 300, one_sided=False)
    store = InMemoryStore()
    result = compress(conversation(output, "Summarise these runs.", "after", "q"), store=store)
    marker = next(m["content"] for m in result.messages if m["role"] == "tool")
    ccr_hash = marker.rsplit('hash="', 1)[1].split('"', 1)[0]
    if "=" not in question:  # `field>=value` is the documented form, with a column name
        answer = retrieve(ccr_hash, question, store=store)
        assert all(n in answer for n in needles), (question, answer[:500])
    rows = json.loads(output)
    name = next(k for k in rows[0] if k not in ("run",))
    top = retrieve(ccr_hash, f"the 2nd highest {name}", store=store)
    assert top.startswith(("1 of", "2 of", "3 of")) and "rows asked for" in top


# --- logs: lines holding a quantity or a time in the range asked ------------------------------

_LOG_FORMATS = (
    "{date}T{time}.120Z INFO [worker-3] c.e.Upload: {msg}",
    "{date} {time},120 - uploads.handler - INFO - {msg}",
    "Mar 11 {time} web-4 uploads[2211]: {msg}",
)


def _log(rng: random.Random, n: int, slow: set[int], unit: str, window: int | None) -> list[str]:
    """Upload and heartbeat lines; `slow` lines take 950-999 `unit`; `window` (an hour) is
    the only hour with lines at minutes 05-25 (the others avoid them)."""
    fmt = rng.choice(_LOG_FORMATS)
    lines = []
    for i in range(n):
        hour = 8 + i * 12 // n
        minute = rng.choice([m for m in range(60) if not 5 <= m <= 25])
        if i in slow:
            msg = (
                f"upload of batch {rng.randint(1, 10**5)} finished in {rng.randint(950, 999)}{unit}"
            )
            if window is not None:
                hour, minute = window, rng.randint(5, 25)
        elif rng.random() < 0.4:
            msg = f"upload of batch {rng.randint(1, 10**5)} finished in {rng.randint(5, 900)}{unit}"
        else:
            msg = f"heartbeat from node-{rng.randint(1, 40)} seq={rng.randint(1, 10**6)}"
        stamp = f"{hour:02d}:{minute:02d}:{rng.randint(0, 59):02d}"
        lines.append(fmt.format(date="2025-03-11", time=stamp, msg=msg))
    return lines


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("seed", range(5))
def test_log_lines_with_a_quantity_in_range_come_back(seed: int, position: str) -> None:
    rng = random.Random(f"log-quantity-{seed}")
    n = rng.randint(800, 1500)
    slow = set(rng.sample(range(50, n - 50), rng.randint(2, 6)))
    unit = rng.choice(["ms", "s", "KB"])
    lines = _log(rng, n, slow, unit, None)
    question = rng.choice(
        [
            f"Which uploads took over 940 {unit}?",
            f"uploads above 940{unit}?",
            f"any batch that finished in 940 {unit} or more?",
        ]
    )
    needles = [lines[i].rsplit(": ", 1)[-1].rsplit(" - ", 1)[-1] for i in sorted(slow)]
    lost = _lost(conversation("\n".join(lines), question, position, "logs"), needles)
    assert not lost, (seed, position, question, lost)


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("seed", range(5))
def test_log_lines_in_a_time_window_come_back(seed: int, position: str) -> None:
    rng = random.Random(f"log-window-{seed}")
    n = rng.randint(800, 1500)
    planted = set(rng.sample(range(50, n - 50), rng.randint(2, 6)))
    hour = rng.randint(8, 19)
    lines = _log(rng, n, planted, "ms", hour)
    question = rng.choice(
        [
            f"What happened between {hour:02d}:05 and {hour:02d}:25?",
            f"Show me the log from {hour:02d}:05 to {hour:02d}:25.",
        ]
    )
    needles = [lines[i].rsplit(": ", 1)[-1].rsplit(" - ", 1)[-1] for i in sorted(planted)]
    lost = _lost(conversation("\n".join(lines), question, position, "logs"), needles)
    assert not lost, (seed, position, question, lost)
