"""Records keep every planted fact, in every format, however and whenever it is asked.

Generated data (`records_gen.py`): orders from ordinary vocabularies, one fact
planted per case (an error row, a nested error object, a rare shape, a null, an
extreme number or date stored as text or number, a rare category, the 3rd
highest, a group's maximum, a 5xx status, a false success flag, a rare event
text; and, found only through the question, a value range and a position). The
question names the record, or describes it in words, or says nothing about it
(the first kinds only); it comes before the output,
right after it, or several turns later. `bench/records_recall.py` prints recall
per class over more seeds.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom import compress
from tests.conftest import needle_present
from tests.core.records_gen import (
    CLASSES,
    FORMATS,
    POSITIONS,
    QUESTION_ONLY,
    conversation,
    plant,
    render,
)

_UNRELATED = "Summarize the overall shipping trends in a couple of sentences."


def _survives(kind: str, fmt: str, question: str, position: str, seed: str, rows: int) -> None:
    rng = random.Random(seed)
    planted = plant(kind, rng, rows)
    output = render(planted.records, fmt, rng)
    if question == "literal":
        asked = planted.literal
    elif question == "words" or kind in QUESTION_ONLY:
        asked = planted.described
    else:
        asked = _UNRELATED
    result = compress(conversation(output, asked, position, rng))
    assert needle_present(planted.needle, result.messages), (kind, fmt, question, position)
    # The output really was cut: this tests selection, not a lossless pass-through.
    assert result.tokens_after < 0.6 * result.tokens_before, result.transforms_applied


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", [k for k in CLASSES if k not in QUESTION_ONLY])
def test_fact_survives_a_question_that_does_not_mention_it(kind: str, fmt: str) -> None:
    """The guarantees hold whatever the question: here it asks about something else."""
    position = POSITIONS[(CLASSES.index(kind) + FORMATS.index(fmt)) % len(POSITIONS)]
    _survives(kind, fmt, "unrelated", position, f"u-{kind}-{fmt}", 300)


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("kind", CLASSES)
def test_fact_survives_described_in_words(kind: str, position: str) -> None:
    fmt = FORMATS[(CLASSES.index(kind) + POSITIONS.index(position)) % len(FORMATS)]
    _survives(kind, fmt, "words", position, f"w-{kind}-{position}", 300)


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("kind", CLASSES)
def test_fact_survives_asked_by_its_identifier(kind: str, position: str) -> None:
    fmt = FORMATS[(CLASSES.index(kind) * 2 + POSITIONS.index(position)) % len(FORMATS)]
    _survives(kind, fmt, "literal", position, f"l-{kind}-{position}", 300)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(CLASSES),
    fmt=st.sampled_from(FORMATS),
    question=st.sampled_from(["literal", "words", "unrelated"]),
    position=st.sampled_from(POSITIONS),
    seed=st.integers(0, 10**6),
    rows=st.integers(150, 600),
)
def test_any_fact_any_format_any_phrasing(
    kind: str, fmt: str, question: str, position: str, seed: int, rows: int
) -> None:
    _survives(kind, fmt, question, position, f"h-{seed}", rows)


# --- durations written as clock readings ---------------------------------------------------

_CLOCK_COLUMNS = ("elapsed", "wall_time", "build_duration")
_CLOCK_ASKS = ("longest", "nth", "shortest", "range")


def _clock(seconds: int, style: str) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if style == "hms":
        return f"{h:02d}:{m:02d}:{s:02d}"
    if style == "h:mm:ss":
        return f"{h}:{m:02d}:{s:02d}"
    return f"{h * 60 + m}:{s:02d}"  # minutes:seconds


def _clock_case(rng: random.Random, ask: str) -> tuple[list[dict[str, object]], str, list[str]]:
    """Jobs whose run time is a clock string, a question by rank or range, its needles."""
    n = rng.randint(150, 350)
    column = rng.choice(_CLOCK_COLUMNS)
    style = rng.choice(["hms", "h:mm:ss", "m:ss"])
    seconds = rng.sample(range(20, 3 * 3600), n)  # distinct, so every rank has one row
    rows: list[dict[str, object]] = [
        {
            "job_id": f"job-{rng.randrange(16**8):08x}",
            "runner": rng.choice(["linux-x64", "linux-arm", "macos", "windows"]),
            "exit_code": rng.choice([0, 0, 0, 2, 137]),
            column: _clock(seconds[i], style),
            "queued_at": f"2025-0{rng.randint(1, 9)}-{rng.randint(10, 28)}T0{i % 10}:15:00Z",
        }
        for i in range(n)
    ]
    by_time = sorted(range(n), key=lambda i: seconds[i])
    if ask == "longest":
        return rows, "Which job ran the longest?", [str(rows[by_time[-1]]["job_id"])]
    if ask == "shortest":
        return rows, "Which job was the shortest?", [str(rows[by_time[0]]["job_id"])]
    if ask == "nth":
        k = rng.randint(2, 4)
        word = {2: "2nd", 3: "3rd", 4: "4th"}[k]
        return rows, f"Which job is the {word} longest?", [str(rows[by_time[-k]]["job_id"])]
    at = rng.randint(n // 4, 3 * n // 4)
    low, high = rows[by_time[at]][column], rows[by_time[at + 1]][column]
    question = f"Which jobs took between {low} and {high}?"
    return rows, question, [str(rows[by_time[at]]["job_id"]), str(rows[by_time[at + 1]]["job_id"])]


@pytest.mark.parametrize("ask", _CLOCK_ASKS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_durations_as_clock_strings_are_ranked_and_ranged(fmt: str, ask: str) -> None:
    """Clock strings ("0:42:07") are quantities: the longest, the nth, a range come back."""
    position = POSITIONS[(FORMATS.index(fmt) + _CLOCK_ASKS.index(ask)) % len(POSITIONS)]
    rng = random.Random(f"clock-{fmt}-{ask}")
    rows, question, needles = _clock_case(rng, ask)
    result = compress(conversation(render(rows, fmt, rng), question, position, rng))
    lost = [n for n in needles if not needle_present(n, result.messages)]
    assert not lost, (fmt, ask, position, question, lost)
    assert result.tokens_after < 0.6 * result.tokens_before, result.transforms_applied
