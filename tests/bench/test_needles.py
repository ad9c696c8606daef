"""The needle matcher follows the corpus README's rules."""

from __future__ import annotations

import json

import pytest

from bench.needles import haystack, needle_present, recall


def test_plain_substring_is_found() -> None:
    assert needle_present("fatal: disk full", ["x\nsshd[12]: fatal: disk full on /dev/sda\n"])


def test_absent_needle_is_lost() -> None:
    assert not needle_present("fatal: disk full", ["error: disk nearly full"])


def test_runs_of_whitespace_are_equal() -> None:
    assert needle_present("def f(a,  b):", ["def f(a, b):"])
    assert needle_present("Failed  to\tcreate", ["Failed to\n  create"])


def test_json_escaped_form_is_accepted() -> None:
    text = json.dumps({"msg": "café\tau lait"})  # ASCII-escaped: caf\u00e9\tau lait
    assert "é" not in text
    assert needle_present("café au lait", [text])
    assert needle_present("café au lait", [json.dumps({"m": "café au lait"}, ensure_ascii=False)])


def test_numbers_match_as_whole_numbers() -> None:
    assert needle_present("130", ["hp: 130, mpg: 18"])
    assert not needle_present("130", ["hp: 1300"])
    assert not needle_present("130", ["id 2130"])
    assert not needle_present("130", ["1.130 s"])
    assert not needle_present("130", ["130.5"])
    assert needle_present("130", ["was 130."])
    assert needle_present("INV-2043", ["INV-2043 paid"])
    assert not needle_present("INV-2043", ["INV-20431 paid"])


@pytest.mark.parametrize(
    "message",
    [
        {"role": "tool", "tool_call_id": "c1", "content": "row needle-42 here"},
        {"role": "user", "content": [{"type": "text", "text": "needle-42"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "f", "arguments": '{"q": "needle-42"}'},
                }
            ],
        },
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {"q": "needle-42"}}],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t",
                    "content": [{"type": "text", "text": "needle-42"}],
                }
            ],
        },
    ],
)
def test_text_tool_results_and_arguments_are_searched(message: dict[str, object]) -> None:
    assert recall(["needle-42"], [message]).found == ("needle-42",)


def test_identifiers_are_not_searched() -> None:
    messages = [{"role": "tool", "tool_call_id": "needle-42", "content": "nothing"}]
    assert recall(["needle-42"], messages).lost == ("needle-42",)


def test_recall_fraction_and_system_prompt() -> None:
    result = recall(["alpha", "beta"], [{"role": "user", "content": "alpha"}], system="no")
    assert result.found == ("alpha",)
    assert result.lost == ("beta",)
    assert result.fraction == 0.5
    assert "no" in haystack([], system="no")
