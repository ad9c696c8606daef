"""The public surface: exports, lazy loading, and what `import headroom` pulls in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import headroom
import headroom.client
from headroom import HeadroomError, OpenAIProvider
from headroom.exceptions import (
    CompressionError,
    ConfigurationError,
    ProviderError,
    StorageError,
    ValidationError,
)

ROOT = Path(__file__).resolve().parents[2]


def test_client_package_exports() -> None:
    assert headroom.client.__all__ == [
        "MODES",
        "AnthropicProvider",
        "AsyncHeadroomStream",
        "HeadroomClient",
        "HeadroomStream",
        "MetricsStore",
        "OpenAIProvider",
        "Provider",
        "RequestMetrics",
        "SimulationPlan",
        "default_data_dir",
    ]
    for name in ("HeadroomClient", "OpenAIProvider", "AnthropicProvider"):
        assert name in headroom.__all__
        assert getattr(headroom, name) is getattr(headroom.client, name)


def test_import_headroom_loads_no_sdk_and_the_client_loads_no_litellm() -> None:
    script = (
        "import sys, headroom\n"
        "assert not any(m in sys.modules for m in ('openai', 'anthropic', 'litellm', "
        "'headroom.client')), sorted(sys.modules)\n"
        "from headroom import HeadroomClient, OpenAIProvider, AnthropicProvider\n"
        "assert not any(m in sys.modules for m in ('openai', 'anthropic', 'litellm'))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True)


def test_error_classes_carry_details() -> None:
    for cls in (ConfigurationError, ProviderError, StorageError, CompressionError, ValidationError):
        error = cls("bad", {"key": "value"})
        assert isinstance(error, HeadroomError)
        assert error.details == {"key": "value"}
        assert cls("no details").details == {}


def test_a_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(ImportError, match=r"headroom\[client\]"):
        OpenAIProvider().sdk()
