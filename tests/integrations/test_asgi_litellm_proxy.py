"""`CompressionMiddleware` mounted on LiteLLM's own proxy app, served by uvicorn on loopback.

A launcher script in its own process imports `litellm.proxy.proxy_server.app`,
adds the middleware and runs uvicorn; the proxy's startup event loads the YAML
named by ``CONFIG_FILE_PATH``, as `litellm --config` does. The YAML has no
Headroom callback, so whatever reaches the recording upstream compressed was
compressed by the middleware alone. The proxy refuses to start without a master
key; with only `master_key` set it needs no database.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before litellm is imported

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

for _module in ("litellm", "fastapi", "uvicorn", "yaml", "backoff", "apscheduler"):
    pytest.importorskip(_module, reason="the LiteLLM proxy needs: pip install 'litellm[proxy]'")

from headroom import InMemoryStore, compress  # noqa: E402
from headroom.integrations.asgi import COMPRESSED_HEADER, TOKENS_SAVED_HEADER  # noqa: E402
from tests.conftest import case, needle_present  # noqa: E402
from tests.integrations.litellm.fakes import StubServer  # noqa: E402
from tests.integrations.litellm.helpers import MARKER, tool_output  # noqa: E402
from tests.server.support import ROOT, free_port  # noqa: E402

STARTUP_TIMEOUT = 60.0  # importing the proxy takes ~15 s on a warm disk
REQUEST_TIMEOUT = 30.0

CONFIG = """\
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: {upstream}/v1
      api_key: sk-stub
general_settings:
  master_key: {master_key}
"""

LAUNCHER = """\
import sys

import uvicorn
from litellm.proxy.proxy_server import app

from headroom.integrations.asgi import CompressionMiddleware

app.add_middleware(CompressionMiddleware)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@dataclass
class LiteLLMApp:
    url: str
    headers: dict[str, str]
    upstream: StubServer

    def chat(self, body: dict[str, Any]) -> httpx.Response:
        self.upstream.requests.clear()
        return httpx.post(
            f"{self.url}/v1/chat/completions",
            json=body,
            headers=self.headers,
            timeout=REQUEST_TIMEOUT,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def litellm_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiteLLMApp]:
    upstream = StubServer()
    upstream.start()
    master_key = f"sk-{secrets.token_hex(32)}"
    directory = tmp_path_factory.mktemp("asgi-litellm")
    config = directory / "config.yaml"
    config.write_text(CONFIG.format(upstream=upstream.url, master_key=master_key), "utf-8")
    launcher = directory / "launch.py"
    launcher.write_text(LAUNCHER, "utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADROOM_")}
    env.update(
        {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "CONFIG_FILE_PATH": str(config),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    env.pop("WORKER_CONFIG", None)
    env.pop("LITELLM_MASTER_KEY", None)
    env.pop("DATABASE_URL", None)
    log_path = directory / "proxy.log"
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(launcher), str(port)],
            env=env,
            cwd=directory,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                if proc.poll() is not None:
                    pytest.fail(
                        f"LiteLLM proxy app exited {proc.returncode}: {log_path.read_text()[-3000:]}"
                    )
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"LiteLLM proxy app did not start within {STARTUP_TIMEOUT}s: "
                        f"{log_path.read_text()[-3000:]}"
                    )
                try:
                    if httpx.get(f"{url}/health/liveliness", timeout=1.0).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            yield LiteLLMApp(url, {"Authorization": f"Bearer {master_key}"}, upstream)
        finally:
            _stop(proc)
            upstream.stop()


def test_large_tool_output_reaches_the_upstream_compressed(litellm_app: LiteLLMApp) -> None:
    data = case("p-logs-apache")
    messages = data["messages"]
    expected = compress(messages, "gpt-4o", store=InMemoryStore())  # what the middleware computes
    assert expected.tokens_saved > 0

    response = litellm_app.chat({"model": "gpt-4o", "messages": messages})

    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "stub answer"
    assert response.headers[COMPRESSED_HEADER] == "true"
    assert int(response.headers[TOKENS_SAVED_HEADER]) == expected.tokens_saved
    (body,) = litellm_app.upstream.bodies("/chat/completions")
    sent = tool_output(body["messages"])
    assert len(sent) < len(tool_output(messages))
    assert MARKER in sent
    assert sent == tool_output(expected.messages)
    for needle in data["needles"]:
        assert needle_present(needle, body["messages"]), needle
    assert "tools" not in body  # the middleware rewrites the conversation only


def test_streaming_request_is_compressed_and_flagged(litellm_app: LiteLLMApp) -> None:
    messages = case("p-logs-apache")["messages"]

    response = litellm_app.chat({"model": "gpt-4o", "messages": messages, "stream": True})

    assert response.status_code == 200, response.text
    assert response.headers[COMPRESSED_HEADER] == "true"
    assert int(response.headers[TOKENS_SAVED_HEADER]) > 0
    events = [
        json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: {")
    ]
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
    assert text == "stub answer"
    (body,) = litellm_app.upstream.bodies("/chat/completions")
    assert body["stream"] is True
    assert MARKER in tool_output(body["messages"])


def test_small_request_passes_through_unchanged(litellm_app: LiteLLMApp) -> None:
    messages = [{"role": "user", "content": "ping"}]

    response = litellm_app.chat({"model": "gpt-4o", "messages": messages})

    assert response.status_code == 200, response.text
    assert response.headers[COMPRESSED_HEADER] == "false"
    assert response.headers[TOKENS_SAVED_HEADER] == "0"
    (body,) = litellm_app.upstream.bodies("/chat/completions")
    assert body["messages"] == messages


def test_bypass_header_skips_compression(litellm_app: LiteLLMApp) -> None:
    messages = case("p-logs-apache")["messages"]
    litellm_app.upstream.requests.clear()

    response = httpx.post(
        f"{litellm_app.url}/v1/chat/completions",
        json={"model": "gpt-4o", "messages": messages},
        headers={**litellm_app.headers, "x-headroom-bypass": "true"},
        timeout=REQUEST_TIMEOUT,
    )

    assert response.status_code == 200, response.text
    assert COMPRESSED_HEADER not in response.headers
    (body,) = litellm_app.upstream.bodies("/chat/completions")
    assert tool_output(body["messages"]) == tool_output(messages)


def test_other_routes_of_the_proxy_are_untouched(litellm_app: LiteLLMApp) -> None:
    response = httpx.get(
        f"{litellm_app.url}/v1/models", headers=litellm_app.headers, timeout=REQUEST_TIMEOUT
    )

    assert response.status_code == 200, response.text
    assert [m["id"] for m in response.json()["data"]] == ["gpt-4o"]
    assert COMPRESSED_HEADER not in response.headers
