"""Skip this directory when LangChain is not installed; shared corpus helpers."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langgraph")
pytest.importorskip("langchain")

from langchain_core.messages import BaseMessage, convert_to_messages

from headroom import InMemoryStore
from tests.conftest import case, needle_present
from tests.integrations.langchain.fakes import RecordingChatModel


def corpus_messages(case_id: str) -> tuple[list[BaseMessage], dict[str, Any]]:
    """A corpus case (OpenAI format) as LangChain messages, with the case itself."""
    data = case(case_id)
    assert data["format"] == "openai", case_id
    return list(convert_to_messages(data["messages"])), data


def needles_in(messages: list[BaseMessage], needles: list[str]) -> list[str]:
    """The needles missing from what a model received."""
    dumped = [{"content": m.content, "tool_calls": getattr(m, "tool_calls", [])} for m in messages]
    return [n for n in needles if not needle_present(n, dumped)]


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def fake() -> RecordingChatModel:
    return RecordingChatModel(responses=["All good."])
