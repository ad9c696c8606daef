"""Random record outputs with one planted fact, and the conversations that ask for it.

Used by `test_generalization_records.py` and by `bench/records_recall.py`
(which prints recall per class). Nothing here is taken from the corpus: the
vocabularies are ordinary business data, the facts are the classes a record
compressor must keep whatever the question says.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CLASSES",
    "FORMATS",
    "POSITIONS",
    "QUESTION_ONLY",
    "Planted",
    "conversation",
    "plant",
    "render",
]

FORMATS = ("json", "nested", "ndjson", "pyrepr", "psql", "csv", "markdown")
CLASSES = (
    "error_row",
    "error_nested",
    "rare_shape",
    "null_value",
    "max_number",
    "min_number",
    "newest_date",
    "rare_category",
    "nth_highest",
    "group_max",
    "http_error",
    "oldest_date",
    "failed_flag",
    "rare_event",
    "value_range",
    "nth_position",
)
#: Facts only the question can point at (a range, a position): no rule keeps them unasked.
QUESTION_ONLY = ("value_range", "nth_position")
POSITIONS = ("before", "after", "later")

_REGIONS = ["north", "south", "east", "west", "central"]
_PRODUCTS = ["widget", "gadget", "sprocket", "gizmo", "doohickey", "bracket", "flange"]
_CHANNELS = ["web", "store", "phone", "partner"]
_FIRST = ["ana", "ben", "chen", "dara", "eli", "fay", "gus", "hana", "ivo", "jun", "kai", "lea"]
_LAST = ["smith", "okafor", "tanaka", "silva", "novak", "haddad", "berg", "moreau", "ruiz"]
_RARE_REGIONS = ["antarctica", "atlantis", "lunar base", "polar station"]
_FAILURES = [
    "card declined by issuer",
    "inventory reservation expired",
    "address verification mismatch",
    "fraud screen rejected",
]


@dataclass(frozen=True)
class Planted:
    """A generated output, the fact's needle, and ways to ask for it."""

    records: list[dict[str, Any]]
    needle: str
    literal: str  # a question naming the record's id
    described: str  # the same question with no identifier


def _base(rng: random.Random, n: int) -> list[dict[str, Any]]:
    rows = []
    start = rng.randint(10_000, 80_000)
    amounts_as_text = rng.random() < 0.4  # many APIs send decimals as strings
    date_style = rng.choice(["iso", "space", "date"])
    for i in range(n):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        rows.append(
            {
                "order_id": f"ORD-{start + i}",
                "customer": f"{first} {last}",
                "email": f"{first}.{last}{rng.randint(1, 999)}@example.org",
                "region": rng.choice(_REGIONS),
                "channel": rng.choice(_CHANNELS),
                "product": rng.choice(_PRODUCTS),
                "quantity": rng.randint(1, 40),
                "amount": round(rng.uniform(5, 900), 2),
                "created_at": _date(
                    date_style,
                    f"2024-{rng.randint(2, 11):02d}-{rng.randint(1, 28):02d}",
                    f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00",
                ),
                "status": "completed",
                "http_status": rng.choice([200, 200, 200, 201, 204]),
                "payment_ok": True,
                "last_event": rng.choice(
                    [
                        f"label printed for parcel {rng.randint(10**5, 10**6)}",
                        f"picked up by courier at {rng.randint(6, 20)}:{rng.randint(10, 59)}",
                        f"delivered after {rng.randint(1, 9)} days",
                    ]
                ),
            }
        )
    if amounts_as_text:
        for row in rows:
            row["amount"] = f"{row['amount']:.2f}"
    return rows


def _date(style: str, day: str, time: str) -> str:
    if style == "iso":
        return f"{day}T{time}Z"
    if style == "space":
        return f"{day} {time}"
    return day


def _amount(row: dict[str, Any]) -> float:
    return float(row["amount"])


def _set_amount(row: dict[str, Any], value: float, like: dict[str, Any]) -> None:
    row["amount"] = f"{value:.2f}" if isinstance(like["amount"], str) else round(value, 2)


def plant(kind: str, rng: random.Random, n: int = 400) -> Planted:
    """Records with one fact of class `kind` planted at a random row."""
    rows = _base(rng, n)
    at = rng.randint(n // 5, n - n // 5)  # never among the first or last rows
    target = rows[at]
    oid = target["order_id"]
    if kind == "error_row":
        reason = rng.choice(_FAILURES)
        for other in rng.sample(rows[1:-1], rng.randint(0, 11)):  # sometimes a dozen fail
            other["status"], other["error"] = "failed", rng.choice(_FAILURES)
        target["status"] = "failed"
        target["error"] = reason
        return Planted(
            rows, oid, f"What went wrong with order {oid}?", "Did any order fail, and which one?"
        )
    if kind == "error_nested":
        reason = rng.choice(_FAILURES)
        target["error"] = {"code": f"E{rng.randint(100, 999)}", "message": reason}
        return Planted(
            rows,
            oid,
            f"Why does order {oid} have a problem?",
            "Which order ran into a problem, and what was it?",
        )
    if kind == "rare_shape":
        target["gift_note"] = "leave at the back door"
        return Planted(
            rows,
            oid,
            f"Is there anything special about order {oid}?",
            "Does any order carry extra information the others lack?",
        )
    if kind == "null_value":
        target["email"] = None
        return Planted(
            rows,
            oid,
            f"Which email is on file for order {oid}?",
            "Which customer has no email address on file?",
        )
    if kind == "max_number":
        top = max(_amount(r) for r in rows)
        _set_amount(target, top + rng.uniform(50, 300), rows[0])
        return Planted(
            rows, oid, f"How much was order {oid}?", "Which was the most expensive order?"
        )
    if kind == "min_number":
        _set_amount(target, rng.uniform(0.5, 4.5), rows[0])
        return Planted(rows, oid, f"How much was order {oid}?", "Which order was the cheapest?")
    if kind == "newest_date":
        target["created_at"] = _date(style_of(rows), "2024-12-30", "23:59:00")
        return Planted(
            rows, oid, f"When was order {oid} placed?", "Which order was placed most recently?"
        )
    if kind == "rare_category":
        target["region"] = rng.choice(_RARE_REGIONS)
        return Planted(
            rows,
            oid,
            f"Which region did order {oid} ship to?",
            "Was any order shipped somewhere unusual, outside the regular regions?",
        )
    if kind == "nth_highest":
        # Two rows above the target by a clear margin make it the 3rd highest.
        top = max(_amount(r) for r in rows)
        first, second = rng.sample([r for r in rows[1:-1] if r is not target], 2)
        _set_amount(first, top + 400, rows[0])
        _set_amount(second, top + 300, rows[0])
        _set_amount(target, top + 200, rows[0])
        return Planted(
            rows,
            oid,
            f"Where does order {oid} rank by amount?",
            "Which order had the 3rd highest amount?",
        )
    if kind == "group_max":
        region = target["region"]
        others = [r["quantity"] for r in rows if r["region"] == region and r is not target]
        target["quantity"] = max(others) + rng.randint(5, 20)
        return Planted(
            rows,
            oid,
            f"What quantity did order {oid} have?",
            f"In the {region} region, which order had the largest quantity?",
        )
    if kind == "http_error":
        target["http_status"] = rng.choice([500, 502, 503])
        return Planted(
            rows,
            oid,
            f"What HTTP status did order {oid} get?",
            "Did any order request come back with a server error?",
        )
    if kind == "oldest_date":
        target["created_at"] = _date(style_of(rows), "2024-01-01", "00:05:00")
        return Planted(
            rows, oid, f"When was order {oid} placed?", "Which order is the oldest one here?"
        )
    if kind == "failed_flag":
        for other in rng.sample(rows[1:-1], rng.randint(3, 9)):
            other["payment_ok"] = False
        target["payment_ok"] = False
        return Planted(
            rows,
            oid,
            f"Was order {oid} paid for?",
            "Which orders had a problem with their payment?",
        )
    if kind == "rare_event":
        target["last_event"] = f"chargeback opened, case {rng.randint(1000, 9999)}"
        return Planted(
            rows,
            oid,
            f"What happened last to order {oid}?",
            "Did a customer dispute any charge?",
        )
    if kind == "value_range":
        # An empty band in the middle of the amounts, then the target inside it.
        for row in rows:
            if 400 <= _amount(row) <= 420:
                _set_amount(row, _amount(row) + 30, rows[0])
        _set_amount(target, rng.uniform(402, 418), rows[0])
        return Planted(
            rows,
            oid,
            f"How much was order {oid}?",
            "Which orders had an amount between 400 and 420?",
        )
    if kind == "nth_position":
        nth = at + 1
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(nth % 10 if nth % 100 not in (11, 12, 13) else 0)
        return Planted(
            rows,
            oid,
            f"What is in order {oid}?",
            f"What is the {nth}{suffix or 'th'} order in this list?",
        )
    raise ValueError(kind)


def style_of(rows: list[dict[str, Any]]) -> str:
    """The date style the generated rows use."""
    sample = str(rows[0]["created_at"])
    return "iso" if "T" in sample else "space" if " " in sample else "date"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def render(records: list[dict[str, Any]], fmt: str, rng: random.Random) -> str:
    """The records as a tool would print them."""
    if fmt == "json":
        return json.dumps(records, indent=2)
    if fmt == "nested":
        payload = {
            "data": {"orders": records, "next_cursor": None},
            "meta": {"count": len(records), "request_id": f"req-{rng.randint(1, 10**9)}"},
        }
        return json.dumps(payload, indent=1)
    if fmt == "ndjson":
        return "\n".join(json.dumps(r) for r in records)
    if fmt == "pyrepr":
        return str(records)
    columns = list(dict.fromkeys(k for r in records for k in r))
    table = [[_cell(r.get(c)) for c in columns] for r in records]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(table)
        return buffer.getvalue()
    widths = [max(len(c), *(len(row[i]) for row in table)) for i, c in enumerate(columns)]
    if fmt == "psql":
        head = " " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
        rule = "-" + "-+-".join("-" * w for w in widths) + "-"
        body = [
            " " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in table
        ]
        return "\n".join([head, rule, *body, f"({len(records)} rows)"])
    if fmt == "markdown":
        head = "| " + " | ".join(columns) + " |"
        rule = "|" + "|".join("---" for _ in columns) + "|"
        body = ["| " + " | ".join(row) + " |" for row in table]
        return "\n".join([head, rule, *body])
    raise ValueError(fmt)


def _call(call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }


def _filler_log(rng: random.Random) -> str:
    return "\n".join(
        f"2024-06-0{rng.randint(1, 9)} 12:{i // 60:02d}:{i % 60:02d} INFO worker-{i % 5} "
        f"processed batch {rng.randint(1000, 9999)} in {rng.randint(5, 90)} ms"
        for i in range(300)
    )


def conversation(output: str, question: str, position: str, rng: random.Random) -> list[Any]:
    """The question before the tool call, right after its output, or several turns later."""
    first = question if position == "before" else "Pull the recent orders from the shop DB."
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are an operations assistant with database tools."},
        {"role": "user", "content": first},
        {"role": "assistant", "content": None, "tool_calls": [_call("c1", "run_query", {})]},
        {"role": "tool", "tool_call_id": "c1", "content": output},
    ]
    if position == "after":
        messages += [
            {"role": "assistant", "content": "I have the orders."},
            {"role": "user", "content": question},
        ]
    elif position == "later":
        messages += [
            {"role": "assistant", "content": "I have the orders."},
            {"role": "user", "content": "Also check the worker log for slow batches."},
            {"role": "assistant", "content": None, "tool_calls": [_call("c2", "read_log", {})]},
            {"role": "tool", "tool_call_id": "c2", "content": _filler_log(rng)},
            {"role": "assistant", "content": "Nothing unusual in the worker log."},
            {"role": "user", "content": "Thanks. One more thing about the orders."},
            {"role": "assistant", "content": "Sure, what would you like to know?"},
            {"role": "user", "content": question},
        ]
    return messages
