"""From a runner's raw output to figures and a report, on a tiny synthetic case."""

from __future__ import annotations

from typing import Any

from bench.corpus import Case
from bench.evaluate import evaluate
from bench.report import OVERALL, format_report, summarize
from bench.request_tokens import RequestCounter

BIG = " ".join(f"row{i} ok" for i in range(50)) + " row77 FAILED code=1234"
MESSAGES: list[dict[str, Any]] = [
    {"role": "user", "content": "which row failed?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "q", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": BIG},
]
CASE = Case(
    id="t-1",
    category="logs",
    format="openai",
    layout="question_first",
    messages=MESSAGES,
    needles=["row77 FAILED", "1234"],
)


def _with_tool_text(text: str) -> list[dict[str, Any]]:
    return [*MESSAGES[:2], {**MESSAGES[2], "content": text}]


def _raw(tool_text: str) -> dict[str, Any]:
    compressed = _with_tool_text(tool_text)
    return {
        "errors": [],
        "first_seen_s": 0.01,
        "repeated_s": [0.001, 0.002, 0.003],
        "result": {"messages": compressed, "serializable": True, "transforms": ["x"]},
        "prefixes": [
            {"end": 0, "messages": MESSAGES[:1], "serializable": True},
            {"end": 2, "messages": compressed, "serializable": True},
        ],
    }


def _words(text: str) -> int:
    return len(text.split())


def test_figures_of_a_good_compression() -> None:
    f = evaluate(CASE, "e", _raw("50 rows ok; row77 FAILED code=1234"), RequestCounter(_words))
    assert f.lost_needles == []
    assert f.invalid == []
    assert 0.8 < f.saving < 1
    assert f.repeated_ms == 2.0
    assert f.replay_requests == 2
    assert f.prefix_breaks == []
    assert f.replay_matches_single is True
    assert f.cache_cost["read-0.1"] < f.cache_cost_uncompressed["read-0.1"]


def test_lost_needle_and_number_boundaries() -> None:
    f = evaluate(CASE, "e", _raw("row77 FAILED code=12345"), RequestCounter(_words))
    assert f.lost_needles == ["1234"]


def test_missing_output_counts_as_invalid_and_lost() -> None:
    f = evaluate(CASE, "e", {"errors": ["timed out"]}, RequestCounter(_words))
    assert f.invalid == ["engine produced no messages"]
    assert f.lost_needles == CASE.needles
    assert f.saving == 0
    assert f.invalid_replay_requests == 2


def test_report_for_one_engine() -> None:
    f = evaluate(CASE, "e", _raw("row77 FAILED code=1234"), RequestCounter(_words))
    summaries = [summarize("e", "logs", [f]), summarize("e", OVERALL, [f])]
    text = format_report(["header"], summaries, {"e": [f]}, ["e"])
    assert "needle recall 100%" in text
    assert "n/a" in text  # no peer to compare latency with
