"""The memory benchmark builds records as JSON and CSV and measures one cell."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest

from bench.memory import KINDS, _measure, generate
from headroom.core.detect import detect_kind


def test_records_come_as_json_and_csv_of_the_size_asked() -> None:
    rows = json.loads(generate("json", 50_000))
    assert len(rows) > 100 and set(rows[0]) == {"id", "host", "status", "latency_ms", "updated"}
    table = list(csv.reader(io.StringIO(generate("csv", 50_000))))
    assert table[0] == list(rows[0]) and len(table) == len(rows) + 1
    assert {"json", "csv", "logs", "code"} <= set(KINDS)
    assert detect_kind(generate("json", 50_000)) == "json"
    assert generate("csv", 50_000) == generate("csv", 50_000)  # deterministic


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_one_cell_reports_peak_memory_over_the_input() -> None:
    row = _measure("logs", 200_000)
    assert row["kind"] == "logs" and int(row["size"]) >= 200_000
    assert float(row["py_bytes"]) > 0 and float(row["rss_bytes"]) >= 0
