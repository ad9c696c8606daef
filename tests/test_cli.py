"""The `headroom` command: compress a file or stdin, and the offline demo."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from headroom.cli import main
from tests.conftest import case


def test_compress_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = case("p-json-comments-email")
    source = tmp_path / "in.json"
    source.write_text(json.dumps(data["messages"]))
    assert main(["compress", str(source)]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert len(out) == len(data["messages"])
    assert "tokens" in captured.err and "saved" in captured.err


def test_compress_stdin_object(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = case("p-logs-openssh")
    payload = {"model": "gpt-4o", "messages": data["messages"], "temperature": 0}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(payload)))
    assert main(["compress", "-"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["temperature"] == 0 and len(out["messages"]) == len(data["messages"])


def test_compress_rejects_non_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("not json"))
    assert main(["compress", "-"]) == 2
    assert "not JSON" in capsys.readouterr().err


def test_demo_runs_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "needles kept" in out and "retrieve(" in out
    assert "needles kept 0/" not in out
