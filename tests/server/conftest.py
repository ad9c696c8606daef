from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# LiteLLM must read its bundled model cost map, never fetch one.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("prometheus_client")

from tests.server.support import redis_server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    pytest.importorskip("redis")
    with redis_server() as url:
        yield url
