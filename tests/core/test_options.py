"""The shared option names: one type, one default, one stats record."""

from __future__ import annotations

import pytest

from headroom.core.options import STATS_KEYS, retrieve_tool_mode, stats_record
from headroom.exceptions import ConfigurationError


def test_retrieve_tool_mode_reads_the_old_booleans() -> None:
    assert [retrieve_tool_mode(v) for v in (None, True, False, "auto", "never")] == [
        "auto",
        "always",
        "never",
        "auto",
        "never",
    ]
    with pytest.raises(ConfigurationError):
        retrieve_tool_mode("sometimes")


def test_stats_record_has_the_shared_keys() -> None:
    record = stats_record(100, 40, ["logs:templates"], ["ab" * 8], retrieval_rounds=1)
    assert tuple(record) == STATS_KEYS
    assert record["tokens_saved"] == 60 and record["compression_ratio"] == 0.6
    assert "retrieval_rounds" not in stats_record(0, 0)
