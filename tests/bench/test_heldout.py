"""The held-out generator is deterministic, its needles are really in its inputs, and a run completes."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bench.engines import ours
from bench.heldout import line_present, measure, run_engine
from bench.heldout_cases import CLASSES, POSITIONS, HeldoutCase, generate
from bench.needles import haystack, needle_present, recall
from bench.request_tokens import RequestCounter
from bench.validate import problems
from headroom.core.tokens import counter_for_model

#: A case's largest tool output must be big enough that compressing it is lossy.
_MIN_OUTPUT_TOKENS = 3000


@pytest.fixture(scope="module")
def cases() -> list[HeldoutCase]:
    return generate(seed=101, per_class=3)


@pytest.fixture(scope="module")
def counter() -> RequestCounter:
    return RequestCounter(counter_for_model("gpt-4o"))


def _tool_outputs(case: HeldoutCase) -> list[str]:
    out: list[str] = []
    for message in case.messages:
        if message["role"] == "tool":
            out.append(message["content"])
        elif isinstance(message.get("content"), list):
            out += [b["content"] for b in message["content"] if b.get("type") == "tool_result"]
    return out


def _asked(case: HeldoutCase) -> list[str]:
    """Every text a user or system wrote (where a needle must not already sit)."""
    texts = [] if case.system is None else [case.system]
    for message in case.messages:
        if message["role"] in ("user", "system"):
            content = message["content"]
            if isinstance(content, str):
                texts.append(content)
            else:
                texts += [b["text"] for b in content if b.get("type") == "text"]
    return texts


def test_same_seed_same_cases_other_seed_other_cases() -> None:
    first = [c.to_json() for c in generate(seed=7, per_class=2)]
    again = [c.to_json() for c in generate(seed=7, per_class=2)]
    other = [c.to_json() for c in generate(seed=8, per_class=2)]
    assert json.dumps(first) == json.dumps(again)
    assert [c["messages"] for c in first] != [c["messages"] for c in other]


def test_every_class_position_and_format_is_generated(cases: list[HeldoutCase]) -> None:
    assert {c.klass for c in cases} == set(CLASSES)
    assert {c.position for c in cases} == set(POSITIONS)
    assert {c.format for c in cases} == {"openai", "anthropic"}
    assert len({c.id for c in cases}) == len(cases)
    for name, (_, styles) in CLASSES.items():
        used = {c.phrasing for c in generate(seed=3, per_class=len(styles) * 3, classes=[name])}
        assert used == set(styles)


def test_needles_are_in_the_tool_outputs_and_not_in_the_question(
    cases: list[HeldoutCase],
) -> None:
    for case in cases:
        assert case.needles, case.id
        outputs = _tool_outputs(case)
        for needle in case.needles:
            assert needle_present(needle, outputs), (case.id, needle)
            assert not needle_present(needle, _asked(case)), (case.id, needle)
        for line in case.lines:
            assert line_present(line, outputs), (case.id, line)
        assert not recall(case.needles, case.messages, case.system).lost


def test_outputs_are_large_and_requests_valid(
    cases: list[HeldoutCase], counter: RequestCounter
) -> None:
    for case in cases:
        biggest = max(counter.total([{"role": "tool", "content": t}]) for t in _tool_outputs(case))
        assert biggest >= _MIN_OUTPUT_TOKENS, (case.id, biggest)
        assert problems(case.messages, copy.deepcopy(case.messages), case.format) == []


def test_indented_line_must_keep_its_indentation() -> None:
    line = "    raise Boom(x)"
    assert line_present(line, ["Traceback:\n  File 'a.py'\n    raise Boom(x)\n"])
    assert line_present(line, [json.dumps({"log": "a\n    raise Boom(x)"})])
    assert not line_present(line, ["Traceback:\n  File 'a.py'\nraise Boom(x)\n"])
    assert not line_present(line, ["a  raise Boom(x)"])
    assert not line_present(line, ["x\n  raise Boom(x)"])


def test_a_tab_indented_line_may_come_back_as_spaces() -> None:
    line = "\tat a.B.c(B.java:3)"
    assert line_present(line, ["E: boom\n\tat a.B.c(B.java:3)\n"])
    assert line_present(line, ["E: boom\n    at a.B.c(B.java:3)\n"])
    assert line_present(line, [json.dumps("E: boom\n\tat a.B.c(B.java:3)")])
    assert not line_present(line, ["E: boom\n at a.B.c(B.java:3)\n"])
    assert not line_present(line, ["E: boom\nat a.B.c(B.java:3)\n"])


def test_measure_counts_lost_needles_and_saving(
    cases: list[HeldoutCase], counter: RequestCounter
) -> None:
    case = next(c for c in cases if c.lines)
    kept = measure(case, "x", {"result": {"messages": case.messages}}, counter)
    assert kept.lost == [] and kept.invalid == [] and kept.saving == 0
    emptied = copy.deepcopy(case.messages)
    for message in emptied:
        if message["role"] == "tool":
            message["content"] = "[output elided]"
        elif isinstance(message.get("content"), list):
            for block in message["content"]:
                if block.get("type") == "tool_result":
                    block["content"] = "[output elided]"
    lost = measure(case, "x", {"result": {"messages": emptied}}, counter)
    assert len(lost.lost) == lost.needles == len(case.needles) + len(case.lines)
    assert lost.saving > 0.5
    missing = measure(case, "x", {"errors": ["boom"]}, counter)
    assert missing.invalid and missing.saving == 0


def test_a_run_on_two_cases_completes(
    cases: list[HeldoutCase], counter: RequestCounter, tmp_path: Path
) -> None:
    chosen = [cases[0], next(c for c in cases if c.format == "anthropic")]
    results = run_engine(ours(), chosen, counter, tmp_path, timeout=120)
    assert [r.case for r in results] == [c.id for c in chosen]
    for result in results:
        assert result.errors == [] and result.invalid == []
        assert result.tokens_before > result.tokens_after > 0
        assert result.first_seen_ms is not None
    assert haystack(chosen[0].messages)
