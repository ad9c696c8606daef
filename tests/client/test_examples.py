"""The client examples run offline, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("client_openai.py", "retrieve_calls_answered': 1"),
        ("client_anthropic_stream.py", "The slowest query is #812."),
    ],
)
def test_example_runs_offline(script: str, expected: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HEADROOM_DATA_DIR": str(tmp_path)}
    env.pop("OPENAI_API_KEY", None)
    env.pop("ANTHROPIC_API_KEY", None)
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert expected in out.stdout
