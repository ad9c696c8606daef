"""The records engine: what it keeps whatever the question, and what its marker says."""

from __future__ import annotations

import json
import random
import re

from headroom.core.config import CompressConfig
from headroom.core.detect import detect_kind, parse_ndjson, parse_python_literal
from headroom.core.relevance import Relevance
from headroom.core.transforms import json_data, tables
from headroom.core.transforms.base import Job


def job(body: str, query: str = "") -> Job:
    return Job(
        text=body,
        relevance=Relevance.from_texts([query] if query else []),
        config=CompressConfig(),
        ccr_hash="0123456789abcdef",
    )


def _events(n: int, seed: int = 0) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [
        {
            "event_id": f"ev-{1000 + i}",
            "service": rng.choice(["auth", "billing", "search", "mail"]),
            "level": "info",
            "duration_ms": rng.randint(5, 400),
            "at": f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
        }
        for i in range(n)
    ]


def _kept(text: str, event_id: str) -> bool:
    return re.search(rf"\b{re.escape(event_id)}\b", text) is not None


def test_error_key_only_on_failing_rows_is_kept_and_counted() -> None:
    rows = _events(1500)
    for i in (400, 401, 977):
        rows[i]["error"] = {"type": "Timeout", "detail": f"upstream {i} did not answer"}
    out = json_data.compress_json(job(json.dumps(rows)))
    assert out is not None and out.lossy
    for i in (400, 401, 977):
        assert _kept(out.text, f"ev-{1000 + i}")
    marker = out.text.rsplit("\n", 1)[-1]
    assert "3 error rows" in marker


def test_status_and_level_values_flag_rows() -> None:
    rows = _events(600)
    rows[300]["level"] = "error"
    rows[450]["level"] = "warning"
    out = json_data.compress_json(job(json.dumps(rows)))
    assert out is not None
    assert _kept(out.text, "ev-1300") and _kept(out.text, "ev-1450")


def test_rare_shapes_are_kept_and_named() -> None:
    rows = _events(800)
    rows[100]["retry_of"] = "ev-1099"  # an extra key
    del rows[200]["duration_ms"]  # a missing key
    rows[300]["service"] = None  # a null among strings
    rows[400]["duration_ms"] = {"p50": 3, "p99": 80}  # an object among numbers
    out = json_data.compress_json(job(json.dumps(rows)))
    assert out is not None
    for i in (100, 200, 300, 400):
        assert _kept(out.text, f"ev-{1000 + i}"), i
    marker = out.text.rsplit("\n", 1)[-1]
    assert "with retry_of" in marker and "no duration_ms" in marker


def test_extremes_of_date_and_numeric_strings_and_per_group() -> None:
    rows = _events(900)
    for row in rows:
        row["cost"] = f"{int(row['duration_ms']) * 1.5:.2f}"  # a number sent as text
    rows[321]["at"] = "2025-01-02T03:04:05Z"  # the newest, as a string
    rows[654]["cost"] = "9999.50"
    mail = [i for i, r in enumerate(rows) if r["service"] == "mail"]
    top_mail = max(mail[5:-5], key=lambda i: int(rows[i]["duration_ms"]))  # type: ignore[call-overload]
    rows[top_mail]["duration_ms"] = 401  # mail's slowest, not the global slowest
    out = json_data.compress_json(job(json.dumps(rows)))
    assert out is not None
    assert _kept(out.text, "ev-1321") and _kept(out.text, "ev-1654")
    assert _kept(out.text, f"ev-{1000 + top_mail}")


def test_rare_category_and_marker_counts_per_value() -> None:
    rows = _events(1000)
    rows[555]["service"] = "ledger"
    out = json_data.compress_json(job(json.dumps(rows)))
    assert out is not None
    assert _kept(out.text, "ev-1555")
    marker = out.text.rsplit("\n", 1)[-1]
    assert re.search(r"service (auth|billing|search|mail)×\d+", marker)
    assert re.search(r"duration_ms \d+…\d+", marker)
    assert 'query="service=' in marker and 'query="top 20 by duration_ms"' in marker
    assert 'headroom_retrieve(hash="0123456789abcdef")' in marker


def test_superlative_in_words_keeps_the_asked_rank() -> None:
    rows = _events(1000)
    ranked = sorted(range(1000), key=lambda i: -int(rows[i]["duration_ms"]))  # type: ignore[call-overload]
    seventh = ranked[6]
    for rank, i in enumerate(ranked[:8]):
        rows[i]["duration_ms"] = 10_000 - rank  # distinct top values
    plain = json_data.compress_json(job(json.dumps(rows)))
    asked = json_data.compress_json(
        job(json.dumps(rows), "which event had the 7th longest duration?")
    )
    assert plain is not None and asked is not None
    assert not _kept(plain.text, str(rows[seventh]["event_id"]))  # beyond the top 5 kept anyway
    assert _kept(asked.text, str(rows[seventh]["event_id"]))


def test_many_distinct_values_are_not_a_category() -> None:
    """A 20k-row table whose column takes 2k values must not keep every row as rare."""
    lines = ["user_id,team,score"]
    rng = random.Random(5)
    lines += [f"u{i},team{rng.randint(0, 1999)},{rng.randint(0, 10**6)}" for i in range(20_000)]
    out = tables.compress_table_text(job("\n".join(lines)))
    assert out is not None and out.lossy
    assert out.text.count("\n") < 200


def test_ndjson_and_python_repr_are_records() -> None:
    rows = _events(300)
    rows[150]["error"] = "quota exceeded"
    ndjson = "\n".join(json.dumps(r) for r in rows)
    assert parse_ndjson(ndjson) == rows
    assert detect_kind(ndjson) == "json"
    pyrepr = str(rows)
    assert parse_python_literal(pyrepr) == rows and detect_kind(pyrepr) == "json"
    for text in (ndjson, pyrepr):
        out = json_data.compress_json(job(text))
        assert out is not None and out.lossy and "quota exceeded" in out.text


def test_python_repr_escapes_and_keywords() -> None:
    text = str([{"a": "it's", "b": 'say "hi"', "c": None, "d": True, "e": "\x01"}] * 3)
    assert (
        parse_python_literal(text)
        == [{"a": "it's", "b": 'say "hi"', "c": None, "d": True, "e": "\x01"}] * 3
    )
    assert parse_python_literal("{'a': {1, 2}}") is None  # a set is not data a table shows


def test_csv_of_timestamped_records_is_a_table_not_a_log() -> None:
    body = "id,at,level,message\n" + "\n".join(
        f"{i},2024-05-01 10:00:{i % 60:02d},INFO,tick {i}" for i in range(50)
    )
    assert detect_kind(body) == "csv"


def test_psql_row_with_an_empty_last_cell() -> None:
    text = " id | name | note \n----+------+------\n  1 | a    | x\n  2 | b    | \n  3 | c    | y\n"
    table = tables.parse_text_table(text)
    assert table is not None and table.rows[1] == ["2", "b", ""]


def test_a_column_in_row_order_adds_no_rows_beyond_its_ends() -> None:
    """A log's clock column rises with the rows: its extremes are the first and last rows."""
    rng = random.Random(7)
    n = rng.randint(150, 300)
    start = rng.randint(0, 3000)
    rows = [
        {
            "seq_note": f"note-{rng.randrange(10**6):06d}",
            "clock": f"{(start + 7 * i) // 3600:02d}:{(start + 7 * i) // 60 % 60:02d}:"
            f"{(start + 7 * i) % 60:02d}",
            "level": "info",
        }
        for i in range(n)
    ]
    table = tables.Table(columns=list(rows[0]), rows=[list(r.values()) for r in rows])
    kept, why = tables.select_rows(table, job(""))
    assert 0 in kept and n - 1 in kept  # the earliest and the latest
    assert "by clock" not in why and all(i < 3 or i >= n - 2 for i in kept), (why, kept)
    # shuffled, the same clock column is an unordered quantity: its extremes are kept
    order = list(range(n))
    rng.shuffle(order)
    shuffled = tables.Table(columns=table.columns, rows=[table.rows[i] for i in order])
    kept, _ = tables.select_rows(shuffled, job(""))
    assert order.index(n - 1) in kept and order.index(0) in kept


def test_csv_lines_are_read_as_stringio_splits_them() -> None:
    """CSV is fed to the reader line by line instead of through a StringIO copy: the
    lines, quoted newlines and carriage returns included, must be the same."""
    import io

    from headroom.core.transforms.table_model import _Lines

    rng = random.Random(13)
    alphabet = ["a", "1", ",", "\n", "\r", "\r\n", '"', " ", "\x0b", "\u2028", "é"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        assert list(_Lines(text)) == list(io.StringIO(text))


def test_csv_with_quoted_newlines_and_crlf_parses_as_before() -> None:
    import csv
    import io

    rows = [["id", "note", "host"]] + [
        [str(i), f'say "hi"\nline {i}', f"web-{i}"] for i in range(8)
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)  # "\r\n" endings, quoted multi-line cells
    table = tables.parse_text_table(buffer.getvalue())
    assert table is not None
    assert [table.columns, *table.rows] == rows


def test_json_transform_takes_its_parse_out_of_the_detection_cache() -> None:
    """The transform owns the parsed document (so it can free it); detection's cache
    does not keep it alive after the call, and the output is the same on a second call."""
    from headroom.core import detect

    text = json.dumps([{"id": i, "status": "ok" if i % 9 else "failed"} for i in range(300)])
    assert detect_kind(text) == "json"
    assert detect._CACHE and detect._CACHE[0][0] is text
    job = Job(text, Relevance.from_texts([]), CompressConfig(), ccr_hash="")
    first = json_data.compress_json(job)
    assert not detect._CACHE
    again = json_data.compress_json(job)
    assert first is not None and again is not None and first.text == again.text


def test_csv_rows_read_lazily_give_the_cells_of_one_pass_over_the_text() -> None:
    """CSV rows are kept as their records' text and read when used: each record read
    alone, a slice, or all of them in one pass give the cells of reading the whole text."""
    import csv
    import io

    from headroom.core.transforms.table_model import CsvRows

    rng = random.Random(29)
    pieces = ["a", "7", " ", ",", '"', "\n", "\r\n", "\r", "é", "x y"]
    for _ in range(300):
        width = rng.randrange(2, 5)
        rows = [[f"c{k}" for k in range(width)]] + [
            ["".join(rng.choice(pieces) for _ in range(rng.randrange(0, 6))) for _ in range(width)]
            for _ in range(rng.randrange(3, 12))
        ]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=rng.choice(["\n", "\r\n"])).writerows(rows)
        text = buffer.getvalue()
        table = tables.parse_text_table(text)
        try:
            expected = [r for r in csv.reader(io.StringIO(text)) if r]
        except csv.Error:  # a bare "\r" the writer left unquoted: not CSV to the reader
            assert table is None
            continue
        if table is None or table.columns != expected[0]:
            continue  # a row of other width: not read as a table, nothing read lazily
        assert isinstance(table.rows, CsvRows)
        body = expected[1 : 1 + len(table.rows)]
        assert list(table.rows) == body
        assert [table.rows[i] for i in range(len(table.rows))] == body
        assert table.rows[1:3] == body[1:3]
