"""Skip without LiteLLM; fixtures that record what the provider actually receives."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before litellm is imported

from collections.abc import Iterator
from typing import Any

import pytest

litellm = pytest.importorskip("litellm")

from headroom import InMemoryStore  # noqa: E402
from tests.conftest import case  # noqa: E402
from tests.integrations.litellm.fakes import FakeProvider, StubServer  # noqa: E402

# LiteLLM copies `litellm.callbacks` into these lists on each call and never
# removes them; past a cap (`MAX_CALLBACKS`) it silently stops adding new ones.
_CALLBACK_LISTS = (
    "callbacks",
    "input_callback",
    "success_callback",
    "failure_callback",
    "_async_input_callback",
    "_async_success_callback",
    "_async_failure_callback",
)


@pytest.fixture(autouse=True)
def _isolated_litellm() -> Iterator[None]:
    """Each test starts with no callbacks and leaves LiteLLM's globals as it found them."""
    lists = {name: list(getattr(litellm, name)) for name in _CALLBACK_LISTS}
    saved = (list(litellm.custom_provider_map), litellm.num_retries)
    for name in _CALLBACK_LISTS:
        setattr(litellm, name, [])
    yield
    for name, value in lists.items():
        setattr(litellm, name, value)
    litellm.custom_provider_map, litellm.num_retries = saved


@pytest.fixture
def fake() -> FakeProvider:
    """A `CustomLLM` registered as provider ``fake/``; it records every request."""
    provider = FakeProvider()
    litellm.custom_provider_map = [{"provider": "fake", "custom_handler": provider}]
    return provider


@pytest.fixture
def stub() -> Iterator[StubServer]:
    """An OpenAI- and Anthropic-compatible HTTP server on 127.0.0.1 recording request bodies."""
    server = StubServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


def logs_case() -> list[dict[str, Any]]:
    """An OpenAI-format agent turn with a 26k-token syslog tool output (lossy: stubbed lines)."""
    return case("p-logs-linux")["messages"]  # type: ignore[no-any-return]


def anthropic_case() -> tuple[str, list[dict[str, Any]]]:
    """An Anthropic-format turn (tool_use / tool_result blocks) and its system prompt."""
    data = case("p-anth-json-comments")
    return data["system"], data["messages"]
