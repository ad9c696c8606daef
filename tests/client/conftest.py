"""Fixtures: the real OpenAI and Anthropic SDKs against a recording fake provider on loopback."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("openai")
pytest.importorskip("anthropic")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from starlette.requests import Request

from tests.server.fake_upstream import FakeUpstream
from tests.server.support import serve

# LiteLLM must never be asked to fetch a cost map (the client reads the bundled file).
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"


class RecordingUpstream(FakeUpstream):
    """The server tests' fake provider, also keeping each request body's exact bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: list[bytes] = []

    async def _record(self, request: Request) -> Any:
        self.raw.append(await request.body())
        return await super()._record(request)

    def clear(self) -> None:
        self.calls.clear()
        self.raw.clear()


@pytest.fixture(scope="session")
def upstream() -> Iterator[tuple[RecordingUpstream, str]]:
    fake = RecordingUpstream()
    with serve(fake.app()) as base:
        yield fake, base


@pytest.fixture
def fake(upstream: tuple[RecordingUpstream, str]) -> RecordingUpstream:
    upstream[0].clear()
    return upstream[0]


@pytest.fixture
def base_url(upstream: tuple[RecordingUpstream, str]) -> str:
    return upstream[1]


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test's default metrics store lives in its own temporary directory."""
    data = tmp_path / "headroom-data"
    monkeypatch.setenv("HEADROOM_DATA_DIR", str(data))
    return data


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'metrics.db'}"


def search_rows(seed: int, n: int = 300) -> list[dict[str, Any]]:
    """Realistic search results: ids, titles, scores, urls."""
    rng = random.Random(seed)
    topics = ["python", "asyncio", "typing", "packaging", "testing", "profiling"]
    return [
        {
            "id": i,
            "title": f"{rng.choice(topics).title()} tutorial part {i}",
            "score": rng.randint(0, 1000),
            "url": f"https://docs.example.org/{rng.choice(topics)}/{i}",
        }
        for i in range(n)
    ]


def openai_conversation(seed: int = 1, tool: str = "search") -> list[dict[str, Any]]:
    """A tool call with a large JSON result, then a question about it."""
    return [
        {"role": "system", "content": "You answer questions about search results."},
        {"role": "user", "content": "Search for Python tutorials"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_search_1",
                    "type": "function",
                    "function": {"name": tool, "arguments": '{"q": "python"}'},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_search_1",
            "content": json.dumps({"results": search_rows(seed)}, indent=2),
        },
        {"role": "user", "content": "Which three results have the highest score?"},
    ]


def anthropic_conversation(seed: int = 2, tool: str = "search") -> list[dict[str, Any]]:
    """The same exchange in Messages API blocks."""
    return [
        {"role": "user", "content": "Search for Python tutorials"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_search_1", "name": tool, "input": {"q": "python"}}
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_search_1",
                    "content": json.dumps({"results": search_rows(seed)}, indent=2),
                },
                {"type": "text", "text": "Which three results have the highest score?"},
            ],
        },
    ]
