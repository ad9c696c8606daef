"""The LangChain example runs offline and reports savings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_agent_example_runs_offline() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "langchain_agent.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    )
    assert "input tokens saved over 2 calls" in done.stdout
    assert "still holds the full tool output: 63,787 characters" in done.stdout


def test_langgraph_example_runs_offline() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "langchain_langgraph.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "3 messages in state (no duplicate)" in done.stdout
    assert "state keeps the full tool result (63,787 characters)" in done.stdout
