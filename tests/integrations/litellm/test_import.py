"""Import paths, the public surface, the missing-LiteLLM message and the proxy's env configuration."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest


def test_documented_import_path() -> None:
    from headroom.integrations.litellm import HeadroomCallback
    from headroom.integrations.litellm_callback import HeadroomCallback as Documented

    assert Documented is HeadroomCallback


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
    assert proxy_config.__all__ == ["from_env", "headroom_callback"]


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
