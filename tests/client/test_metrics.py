"""The metrics store: persisted across clients and processes, private, and never failing a call."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import openai
import pytest

from headroom import HeadroomClient, OpenAIProvider, StorageError, ValidationError
from headroom.client.metrics import (
    METRICS_FILE,
    MetricsStore,
    RequestMetrics,
    default_data_dir,
    path_from_url,
)
from headroom.exceptions import ConfigurationError
from tests.client.conftest import RecordingUpstream, openai_conversation

ROOT = Path(__file__).resolve().parents[2]


def wrapped(base_url: str, **kwargs: object) -> HeadroomClient:
    sdk = openai.OpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0, timeout=30)
    return HeadroomClient(original_client=sdk, provider=OpenAIProvider(), **kwargs)  # type: ignore[arg-type]


def test_metrics_written_by_one_client_are_read_by_a_new_one(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    first = wrapped(base_url, store_url=store_url)
    first.chat.completions.create(model="gpt-4o", messages=openai_conversation(seed=31))
    first.chat.completions.create(
        model="gpt-4o-mini", messages=openai_conversation(seed=32), headroom_mode="audit"
    )
    first.close()

    second = wrapped(base_url, store_url=store_url)
    records = second.get_metrics()
    assert [r.model for r in records] == ["gpt-4o-mini", "gpt-4o"]  # newest first
    newest, oldest = records
    assert newest.mode == "audit" and oldest.mode == "optimize"
    assert oldest.timestamp.tzinfo is not None
    assert oldest.tokens_input_before > oldest.tokens_input_after > 0
    assert oldest.transforms and oldest.retrieve_calls == 1
    summary = second.get_summary()
    assert summary["total_requests"] == 2
    assert summary["total_tokens_saved"] == sum(r.tokens_saved for r in records)
    assert summary["by_mode"]["audit"]["requests"] == 1
    assert summary["total_savings_usd"] == pytest.approx(
        oldest.tokens_saved * 2.5e-6 + newest.tokens_saved * 1.5e-7
    )
    assert second.get_stats()["session"]["requests_total"] == 0  # session is per client


def test_another_process_reads_the_same_store(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    client = wrapped(base_url, store_url=store_url)
    client.chat.completions.create(model="gpt-4o", messages=openai_conversation(seed=33))
    saved = client.get_metrics()[0].tokens_saved
    script = textwrap.dedent(
        f"""
        import sys
        from openai import OpenAI
        from headroom import HeadroomClient, OpenAIProvider
        client = HeadroomClient(
            original_client=OpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1"),
            provider=OpenAIProvider(),
            store_url={store_url!r},
        )
        summary = client.get_summary()
        print(summary["total_requests"], summary["total_tokens_saved"])
        assert "openai" in sys.modules and "litellm" not in sys.modules
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.split() == ["1", str(saved)]


def test_time_range_and_limit(tmp_path: Path) -> None:
    store = MetricsStore(f"sqlite:///{tmp_path / 'm.db'}")
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for hour in range(5):
        store.record(
            RequestMetrics(
                request_id=f"r{hour}",
                timestamp=start + timedelta(hours=hour),
                provider="openai",
                model="gpt-4o",
                mode="optimize",
                stream=False,
                tokens_input_before=100,
                tokens_input_after=40,
                tokens_saved=60,
                transforms=["json:rows"],
            )
        )
    window = store.query(start + timedelta(hours=1), start + timedelta(hours=3))
    assert [r.request_id for r in window] == ["r2", "r1"]
    naive = store.query(start_time=datetime(2026, 1, 1, 3))  # naive datetimes are UTC
    assert [r.request_id for r in naive] == ["r4", "r3"]
    assert [r.request_id for r in store.query(limit=2)] == ["r4", "r3"]
    assert store.summary(end_time=start + timedelta(hours=2))["total_tokens_saved"] == 120
    assert store.query()[0].to_dict()["timestamp"] == "2026-01-01T04:00:00+00:00"


def test_default_store_is_private_under_the_data_dir(
    fake: RecordingUpstream, base_url: str, private_data_dir: Path
) -> None:
    client = wrapped(base_url)
    client.chat.completions.create(model="gpt-4o", messages=openai_conversation(seed=34))
    path = private_data_dir / METRICS_FILE
    assert client.get_stats()["config"]["store_url"] == f"sqlite:///{path}"
    assert stat.S_IMODE(private_data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    report = client.validate_setup()
    assert report["valid"] and report["storage"]["private"]


def test_data_dir_follows_xdg_when_not_set_explicitly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEADROOM_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "headroom"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    assert default_data_dir() != Path("relative/ignored/headroom")


def test_store_urls() -> None:
    assert path_from_url("sqlite:////var/lib/h.db") == Path("/var/lib/h.db")
    assert path_from_url("sqlite:///:memory:") is None
    for bad in ("postgres://x/y", "/plain/path.db", "sqlite://host/x.db"):
        with pytest.raises(ConfigurationError):
            path_from_url(bad)


def test_validate_setup_catches_a_bad_store_path_and_the_call_still_works(
    fake: RecordingUpstream, base_url: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the store's directory should be")
    client = wrapped(base_url, store_url=f"sqlite:///{blocker / 'metrics.db'}")

    report = client.validate_setup()
    assert report["valid"] is False
    assert report["storage"]["ok"] is False and report["issues"]
    assert report["provider"]["ok"] and report["tokenizer"]["ok"]
    with pytest.raises(ValidationError) as info:
        client.validate_setup(raise_on_error=True)
    assert info.value.details["storage"]["ok"] is False

    response = client.chat.completions.create(model="gpt-4o", messages=openai_conversation(35))
    assert response.choices[0].message.content == "final answer"
    stats = client.get_stats()["session"]
    assert stats["requests_total"] == 1 and stats["metrics_write_failures"] == 1
    with pytest.raises(StorageError) as error:
        client.get_metrics()
    assert "store_url" in error.value.details


def test_validate_setup_reports_a_good_setup(base_url: str, store_url: str) -> None:
    report = wrapped(base_url, store_url=store_url).validate_setup()
    assert report["valid"] is True
    assert report["provider"] == {"ok": True, "name": "openai", "async": False}
    assert report["tokenizer"]["offline"] is True
    assert report["pricing"]["available"] is True
    assert report["storage"]["file_mode"] == "0o600"
    assert report["warnings"] == []


def test_validate_setup_warns_about_a_world_readable_file(base_url: str, tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    report = wrapped(base_url, store_url=f"sqlite:///{path}").validate_setup()
    assert report["valid"] is True
    assert report["storage"]["private"] is False
    assert "readable by other users" in report["warnings"][0]


def test_memory_store_keeps_metrics_for_this_process_only(
    fake: RecordingUpstream, base_url: str, private_data_dir: Path
) -> None:
    client = wrapped(base_url, store_url="sqlite:///:memory:")
    client.chat.completions.create(model="gpt-4o", messages=openai_conversation(seed=36))
    assert client.get_summary()["total_requests"] == 1
    assert not private_data_dir.exists()
