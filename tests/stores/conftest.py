from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.support import redis_server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    pytest.importorskip("redis")
    with redis_server() as url:
        yield url
