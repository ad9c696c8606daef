"""`headroom proxy` argument parsing, settings from the environment, and missing extras."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from headroom.exceptions import ConfigurationError
from headroom.server import ServerSettings, create_app
from headroom.server.cli import build_parser, run_proxy, settings_from_args
from tests.conftest import case
from tests.server.support import ROOT, serve, spawn_proxy


def test_flags_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADROOM_API_KEY", "env-a, env-b")
    monkeypatch.setenv("HEADROOM_STORE", "sqlite:/tmp/x.db")
    monkeypatch.setenv("HEADROOM_PORT", "9999")
    monkeypatch.setenv("HEADROOM_UPSTREAM_ANTHROPIC_KEY", "sk-ant-env")
    args = build_parser().parse_args(
        [
            "--port",
            "8788",
            "--upstream-openai",
            "http://127.0.0.1:1/v1/",
            "--max-body-bytes",
            "1000",
        ]
    )
    s = settings_from_args(args)
    assert s.port == 8788 and s.api_keys == ("env-a", "env-b") and s.store == "sqlite:/tmp/x.db"
    assert s.upstream_openai == "http://127.0.0.1:1/v1" and s.max_body_bytes == 1000 and s.optimize
    assert s.upstream_anthropic_key == "sk-ant-env" and s.upstream_openai_key is None
    args = build_parser().parse_args(
        ["--api-key", "k1", "--api-key", "k2", "--no-optimize", "--store", "memory"]
    )
    s = settings_from_args(args)
    assert s.api_keys == ("k1", "k2") and not s.optimize and s.store == "memory"


def test_hardening_flags_reach_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADROOM_ADMIN_KEY", "adm-1")
    monkeypatch.setenv("HEADROOM_LOG_SALT", "pepper")
    args = build_parser().parse_args(
        [
            "--allowed-host",
            "headroom.internal",
            "--tenant-max-entries",
            "100",
            "--tenant-max-bytes",
            "1000000",
            "--store-max-bytes",
            "5000000",
            "--store-timeout",
            "0.2",
            "--compress-timeout",
            "3",
            "--max-output-bytes",
            "4096",
            "--header-timeout",
            "2",
            "--body-timeout",
            "4",
        ]
    )
    s = settings_from_args(args)
    assert s.admin_keys == ("adm-1",) and s.log_salt == "pepper"
    assert s.host_names() == frozenset({"headroom.internal"})
    assert (s.tenant_max_entries, s.tenant_max_bytes, s.store_max_bytes) == (100, 10**6, 5 * 10**6)
    assert (s.store_timeout, s.compress_timeout, s.max_output_bytes) == (0.2, 3.0, 4096)
    assert (s.header_timeout, s.body_timeout) == (2.0, 4.0)
    assert "localhost" in ServerSettings().host_names()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_body_bytes": 0},
        {"store_timeout": 0},
        {"tenant_max_bytes": -1},
        {"admin_keys": ("",)},
        {"upstream_openai": "ftp://x"},
        {"upstream_timeout": -1},
        {"api_keys": ("",)},
    ],
)
def test_invalid_settings_are_configuration_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        ServerSettings(**kwargs)  # type: ignore[arg-type]


def test_bad_env_number_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="HEADROOM_PORT"):
        ServerSettings.from_env({"HEADROOM_PORT": "eighty"})


def test_run_proxy_refuses_an_unknown_store(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_proxy(["--store", "mongodb://nope", "--port", "1"]) == 2
    assert "unknown CCR store" in capsys.readouterr().err


def test_headroom_proxy_command_serves(tmp_path: Path) -> None:
    db = tmp_path / "ccr.db"
    data = case("p-grep-defs")
    with spawn_proxy("--store", f"sqlite:{db}") as base:
        r = httpx.post(base + "/v1/compress", json={"messages": data["messages"]}, timeout=30)
        hashes = r.json()["ccr_hashes"]
        assert r.status_code == 200 and hashes
    # The SQLite store outlives the process: a restarted server still has the originals.
    with spawn_proxy("--store", f"sqlite:{db}") as base:
        got = httpx.get(f"{base}/v1/retrieve/{hashes[0]}", timeout=10)
        assert got.status_code == 200 and got.json()["original_content"]


def test_lead_cli_dispatches_proxy_help() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from headroom.cli import main; sys.exit(main(['proxy', '--help']))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(ROOT),
    )
    assert out.returncode == 0 and "--upstream-anthropic" in out.stdout


def test_server_without_its_web_stack_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "starlette.applications", None)
    monkeypatch.delitem(sys.modules, "headroom.server.app", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'headroom\[server\]'") as info:
        importlib.import_module("headroom.server.app")
    assert info.value.__cause__ is not None


def test_create_app_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADROOM_API_KEY", "from-env")
    with serve(create_app()) as base:
        assert httpx.get(base + "/stats").status_code == 401
        assert (
            httpx.get(base + "/stats", headers={"authorization": "Bearer from-env"}).status_code
            == 200
        )
