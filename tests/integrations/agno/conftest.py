"""Skip this directory without agno; keep LiteLLM offline; give each test its own CCR store."""

from __future__ import annotations

import os
from typing import Any

import pytest

# LiteLLM fetches its model cost map on import unless told otherwise: set before any import.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

pytest.importorskip("agno")

from agno_kit import load_case

from headroom.core import InMemoryStore


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def logs_case() -> dict[str, Any]:
    return load_case("p-logs-openssh")


@pytest.fixture
def json_case() -> dict[str, Any]:
    return load_case("p-json-comments-email")
