"""The `headroom` command: compress a file or stdin, and the offline demo."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from headroom.cli import main
from tests.conftest import ROOT, case


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
    assert "retrieve(" in out
    assert "facts the answers need" in out
    total = re.search(r"facts the answers need: (\d+)/(\d+) kept", out)
    assert total and total.group(1) == total.group(2)


# --- bad input: one clear line and a non-zero exit, never a traceback -----------------------

_BAD_INPUTS = [
    ("missing file", lambda tmp: str(tmp / "nope.json"), "no such file"),
    ("a directory", lambda tmp: str(tmp), "is a directory"),
    ("binary input", lambda tmp: _write(tmp / "b.bin", b"\xff\xfe\x00\x81binary"), "not UTF-8"),
    ("a list of ints", lambda tmp: _write(tmp / "i.json", b"[1, 2, 3]"), "not a list of chat"),
    (
        "messages without roles",
        lambda tmp: _write(tmp / "r.json", b'[{"content": "hi"}]'),
        "has no string 'role'",
    ),
    ("not JSON", lambda tmp: _write(tmp / "t.json", b"hello"), "not JSON"),
    ("a JSON string", lambda tmp: _write(tmp / "s.json", b'"hi"'), "expected a list of messages"),
]


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(("label", "make", "message"), _BAD_INPUTS, ids=[b[0] for b in _BAD_INPUTS])
def test_bad_input_is_one_clear_line(
    label: str,
    make: Any,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["compress", make(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and err.startswith("headroom: ")
    assert "Traceback" not in err


def test_unwritable_output_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _write(tmp_path / "m.json", b'[{"role": "user", "content": "hi"}]')
    target = tmp_path / "missing-dir" / "out.json"
    assert main(["compress", source, "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"cannot write {target}" in err and "Traceback" not in err


def test_help_describes_every_argument(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["compress", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("FILE", "--model", "--output", "--pretty", "--lossless", "--store"):
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(flag))
        assert len(line.split()) > 1 or flag == "FILE", f"{flag} has no description"
    assert "stdin" in text


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from headroom import __version__

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"headroom {__version__}"


def test_proxy_without_server_extra_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a)
    )
    assert main(["proxy", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'headroom[server]'" in err and "uvicorn" in err


# --- markers whose originals outlive the process ---------------------------------------------


def test_store_round_trip_across_processes(tmp_path: Path) -> None:
    data = case("p-logs-openssh")
    source = tmp_path / "in.json"
    source.write_text(json.dumps(data["messages"]))
    spec = f"sqlite:{tmp_path / 'ccr.db'}"
    run = _cli("compress", str(source), "--store", spec)
    assert run.returncode == 0, run.stderr
    text = json.dumps(json.loads(run.stdout), ensure_ascii=False).replace('\\"', '"')
    hashes = re.findall(r'headroom_retrieve\(hash="([0-9a-f]{16})"\)', text)
    assert hashes, "compression left no marker"
    later = _cli("retrieve", hashes[0], "--store", spec)
    assert later.returncode == 0, later.stderr
    originals = [m["content"] for m in data["messages"] if isinstance(m.get("content"), str)]
    assert later.stdout.rstrip("\n") in originals
    missing = _cli("retrieve", "0" * 16, "--store", spec)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1


def test_without_store_the_summary_says_originals_vanish(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.json"
    source.write_text(json.dumps(case("p-logs-openssh")["messages"]))
    assert main(["compress", str(source)]) == 0
    assert "--store" in capsys.readouterr().err


# --- the demo as a person sees it --------------------------------------------------------------


def test_demo_fits_100_columns_and_keeps_markers_whole(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "\x1b[" not in out  # no color when not a terminal
    flat = " ".join(out.split())
    for hash_ in re.findall(r'headroom_retrieve\(hash="([0-9a-f]+)"\)', flat):
        assert len(hash_) == 16, "a marker's hash was cut"
    assert flat.startswith("Headroom demo")
    assert "Total:" in out and "facts the answers need" in out
    assert "What the model reads now" in out


def test_demo_color_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert main(["demo"]) == 0
    assert "\x1b[1m" in capsys.readouterr().out


def test_demo_into_a_closed_pipe_ends_quietly() -> None:
    proc = subprocess.run(
        f"{sys.executable} -m headroom.cli demo | head -1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.stdout.strip() == "Headroom demo"
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "headroom.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
