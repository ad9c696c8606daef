"""Import paths, the public surface, the missing-LiteLLM message and the proxy's env configuration."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest


def test_documented_import_path_builds_callbacks_like_the_class() -> None:
    from headroom.integrations.litellm import HeadroomCallback
    from headroom.integrations.litellm_callback import HeadroomCallback as Documented

    cb = Documented(min_tokens=800, model_limit=64_000)
    assert type(cb) is HeadroomCallback
    assert (cb.min_tokens, cb.model_limit) == (800, 64_000)
    assert Documented() is not Documented()
    assert isinstance(cb, Documented) and isinstance(Documented, HeadroomCallback)
    assert issubclass(HeadroomCallback, Documented)

    class Mine(Documented):  # type: ignore[misc,valid-type]
        pass

    assert Mine.__mro__[1] is HeadroomCallback
    assert isinstance(Mine(), Documented)


async def test_litellm_calling_the_proxy_instance_as_a_logging_function_is_a_no_op() -> None:
    """LiteLLM calls every callable callback with its call details too (sync and awaited)."""
    from headroom.integrations.litellm_callback import HeadroomCallback as Documented

    details = {"log_event_type": "post_api_call", "model": "gpt-4o"}
    assert not isinstance(Documented(details, None, None, None), type(Documented()))
    assert await Documented(details, None, None, None) is None
    assert await Documented({"log_event_type": "pre_api_call"}) is None


def test_public_surface() -> None:
    import headroom.integrations.litellm as pkg
    import headroom.integrations.litellm.callback as callback
    import headroom.integrations.litellm.proxy_config as proxy_config
    import headroom.integrations.litellm.remote as remote
    import headroom.integrations.litellm.wrappers as wrappers

    assert pkg.__all__ == ["HeadroomCallback", "RemoteCompressor", "acompletion", "completion"]
    assert callback.__all__ == ["HeadroomCallback"]
    assert remote.__all__ == ["DEFAULT_API_URL", "RemoteCompressor", "parse_compress_reply"]
    assert wrappers.__all__ == ["acompletion", "completion", "default_callback"]
    assert proxy_config.__all__ == ["ProxyCallback", "from_env", "headroom_callback"]


def test_missing_litellm_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [
        m
        for m in sys.modules
        if m == "litellm" or m.startswith(("litellm.", "headroom.integrations.litellm"))
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "litellm", None)  # import litellm -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'headroom\[litellm\]'") as info:
        importlib.import_module("headroom.integrations.litellm")
    assert isinstance(info.value.__cause__, ImportError)
    with pytest.raises(ImportError, match=r"pip install 'headroom\[litellm\]'"):
        importlib.import_module("headroom.integrations.litellm_callback")


def test_core_import_pulls_in_no_litellm() -> None:
    code = "import sys, headroom; assert 'litellm' not in sys.modules, 'litellm imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_proxy_instance_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from headroom.integrations.litellm.callback import HeadroomCallback
    from headroom.integrations.litellm.proxy_config import from_env, headroom_callback

    assert isinstance(headroom_callback, HeadroomCallback)
    monkeypatch.setenv("HEADROOM_MIN_TOKENS", "1234")
    monkeypatch.setenv("HEADROOM_MODEL_LIMIT", "64000")
    monkeypatch.setenv("HEADROOM_TIMEOUT", "1.5")
    monkeypatch.setenv("HEADROOM_RETRIEVAL", "off")
    monkeypatch.setenv("HEADROOM_API_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("HEADROOM_API_KEY", raising=False)
    cb = from_env()
    assert (cb.min_tokens, cb.model_limit, cb.retrieval, cb.mode) == (1234, 64000, False, "remote")
    assert cb.remote is not None and cb.remote.timeout == 1.5
    monkeypatch.delenv("HEADROOM_API_URL")
    assert from_env().mode == "local"


def test_a_key_without_a_url_sends_nothing_anywhere(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No default server: a key alone would have sent every conversation to 127.0.0.1:8787."""
    from headroom.integrations.litellm import HeadroomCallback

    monkeypatch.delenv("HEADROOM_API_URL", raising=False)
    with pytest.raises(ValueError, match=r"api_url=.*HEADROOM_API_URL"):
        HeadroomCallback(api_key="hk-1")
    monkeypatch.setenv("HEADROOM_API_KEY", "hk-env")
    with caplog.at_level("WARNING", logger="headroom.litellm"):
        cb = HeadroomCallback()
    assert cb.mode == "local" and cb.remote is None
    assert "HEADROOM_API_URL is not" in caplog.text
    assert HeadroomCallback(api_key="hk-1", api_url="http://127.0.0.1:9").mode == "remote"
