"""Recall after a later question, and `retrieve(hash, query)` with its documented forms."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from headroom import compress, retrieve
from headroom.core.ccr import retrieve_tool_openai
from headroom.core.store import InMemoryStore


def _exchange(output: str, question: str) -> list[dict[str, Any]]:
    call = {"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{}"}}
    return [
        {"role": "user", "content": "Open it."},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": output},
        {"role": "assistant", "content": "Done."},
        {"role": "user", "content": question},
    ]


def _method(name: str, message: str, indent: str = "    ") -> str:
    body = "".join(f"{indent}    step_{k} = value * {k}\n" for k in range(6))
    return (
        f"{indent}def {name}(self, value):\n{indent}    if value is None:\n"
        f'{indent}        raise ValueError("{message}")\n{body}{indent}    return value\n'
    )


def test_recall_of_class_method_picks_the_method_of_that_class() -> None:
    filler = "".join(_method(f"helper_{i}", f"helper {i} failed", "") for i in range(30))
    source = (
        "import os\n\n"
        + filler
        + "\nclass Reader:\n"
        + _method("check", "reader needs a value")
        + _method("check_value", "reader value missing")
        + "\nclass Writer:\n"
        + _method("check", "writer needs a value")
    )
    result = compress(_exchange(source, "What does `Writer.check` raise when given nothing?"))
    final = result.messages[-1]["content"]
    assert "[headroom recall" in final
    assert "writer needs a value" in final
    assert "reader needs a value" not in final and "reader value missing" not in final


def _orders(n: int = 300) -> list[dict[str, Any]]:
    return [
        {
            "id": f"o-{i}",
            "status": "late" if i % 50 == 7 else "ok",
            "amount": round(10 + (i * 37) % 500 + i / 1000, 3),
            "placed": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
        }
        for i in range(n)
    ]


def _stored(output: str) -> Callable[[str], str]:
    """Compress `output` into its own store; a function querying its original."""
    store = InMemoryStore()
    result = compress(_exchange(output, "Summarize."), store=store)
    (h,) = result.ccr_hashes
    assert store.get(h) == output
    return lambda query: retrieve(h, query, store=store)


def test_retrieve_field_equals_value() -> None:
    ask = _stored(json.dumps(_orders()))
    answer = ask("status=late")
    assert answer.startswith("6 of 300 rows where status=late")
    assert answer.count('"status":"late"') == 6 and '"status":"ok"' not in answer
    both = ask("status = late and placed >= 2024-06-01")
    assert all(json.loads(line)["placed"] >= "2024-06-01" for line in both.splitlines()[1:])


def test_retrieve_top_and_bottom_by_column() -> None:
    orders = _orders()
    ask = _stored(json.dumps(orders))
    top = ask("top 3 by amount").splitlines()
    expected = sorted(orders, key=lambda o: -o["amount"])[:3]
    assert top[0] == "top 3 of 300 rows by amount:"
    assert [json.loads(line)["id"] for line in top[1:]] == [o["id"] for o in expected]
    bottom = ask("bottom 2 by placed").splitlines()
    assert [json.loads(line)["placed"] for line in bottom[1:]] == ["2024-01-01"] * 2


def test_retrieve_a_column_name_alone_projects_it() -> None:
    ask = _stored(json.dumps(_orders()))
    answer = ask("Amount").splitlines()
    assert answer[0] == "columns id, amount of 300 rows:"
    assert json.loads(answer[1]) == {"id": "o-0", "amount": 10.0}


def test_retrieve_plain_words_and_no_match() -> None:
    ask = _stored(json.dumps(_orders()))
    assert '"id":"o-57"' in ask("o-57")
    missing = ask("refund")
    assert missing.startswith("no part of the original matches 'refund'")
    assert "without a query" in missing
    assert "no column named 'colour'" in ask("colour=red")


def test_retrieve_words_in_logs_are_matched_even_when_common() -> None:
    lines = [f"2024-05-01 10:00:{i % 60:02d} INFO worker heartbeat seq={i}" for i in range(400)]
    lines[123] = "2024-05-01 10:02:03 WARN worker disk nearly full"
    ask = _stored("\n".join(lines))
    assert ask("disk") == lines[123]
    many = ask("heartbeat")
    assert many.count("heartbeat") == 50 and "more parts match" in many


def test_tool_description_documents_the_query_forms() -> None:
    description = retrieve_tool_openai()["function"]["description"]
    for form in ("field=value", "top 5 by column", "bottom 5 by column", "without a query"):
        assert form in description
