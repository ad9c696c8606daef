"""The public surface, and what happens when LangChain is not installed."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import headroom.integrations.langchain as integration

EXPECTED = [
    "HeadroomChatModel",
    "HeadroomDocumentCompressor",
    "HeadroomMiddleware",
    "HeadroomToolCompressorNode",
    "compress_tool",
    "compress_tool_messages",
    "from_core",
    "to_core",
]


def test_public_surface() -> None:
    assert sorted(integration.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(integration, name) is not None
    from headroom.integrations import HeadroomChatModel

    assert HeadroomChatModel is integration.HeadroomChatModel
    with pytest.raises(AttributeError):
        _ = integration.NotAThing  # type: ignore[attr-defined]


def test_missing_langchain_core_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if name.startswith("headroom.integrations.langchain"):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "langchain_core", None)
    with pytest.raises(ImportError, match=r"pip install 'headroom\[langchain\]'") as info:
        importlib.import_module("headroom.integrations.langchain")
    assert isinstance(info.value.__cause__, ImportError)


def test_missing_langchain_v1_names_the_extra_for_the_middleware(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "headroom.integrations.langchain.middleware", raising=False)
    monkeypatch.setitem(sys.modules, "langchain.agents.middleware", None)
    with pytest.raises(ImportError, match=r"pip install 'headroom\[langchain\]'"):
        importlib.import_module("headroom.integrations.langchain.middleware")


def test_importing_headroom_or_the_chat_model_pulls_in_no_agent_framework() -> None:
    code = (
        "import sys, headroom, headroom.integrations;"
        "assert not any(m.startswith(('langchain', 'langgraph')) for m in sys.modules), 'core';"
        "from headroom.integrations.langchain import HeadroomChatModel;"
        "assert 'langgraph' not in sys.modules and 'langchain.agents' not in sys.modules, 'wrapper'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
