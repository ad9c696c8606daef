"""The scaling benchmark builds each kind at the size asked and measures one cell."""

from __future__ import annotations

import pytest

from bench.scaling_kinds import KINDS, _measure, generate
from headroom.core.detect import detect_kind

_DETECTED = {"logs": "log", "code": "code", "code-brace": "code", "grep": "grep", "text": "text"}


@pytest.mark.parametrize("kind", KINDS)
def test_generated_output_has_the_size_and_kind_asked(kind: str) -> None:
    text = generate(kind, 50_000)
    assert 50_000 <= len(text) < 52_000
    assert detect_kind(text) == _DETECTED[kind]
    assert generate(kind, 50_000) == text  # deterministic


def test_one_cell_reports_times_memory_and_saving() -> None:
    row = _measure("logs", 20_000)
    assert row["kind"] == "logs" and float(row["compress_s"]) > 0
    assert float(row["peak_bytes"]) > 0 and float(row["count_peak_bytes"]) > 0
    assert 0.5 < float(row["saved"]) < 1 and row["applied"] == "logs:templates"
