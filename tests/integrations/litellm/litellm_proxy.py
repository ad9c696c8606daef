"""The real LiteLLM proxy (`litellm --config`) in a subprocess, with this interpreter's LiteLLM.

Run with ``sys.executable`` rather than the ``litellm`` script on PATH, so a
test run in another environment (CI's newest-releases venv) starts that
environment's proxy. The proxy needs a master key (it refuses to start
without one) but no database: with only `master_key` set it authenticates
that key alone.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import httpx
import pytest

from tests.integrations.litellm.fakes import StubServer
from tests.server.support import free_port

__all__ = ["REQUEST_TIMEOUT", "Proxy", "litellm_proxy"]

ROOT = Path(__file__).resolve().parents[3]
STARTUP_TIMEOUT = 150.0  # a cold proxy import takes 15-45 s on a busy machine
REQUEST_TIMEOUT = 60.0
_RUN = "import sys; from litellm import run_server; sys.argv[0] = 'litellm'; run_server()"


@dataclass
class Proxy:
    url: str
    headers: dict[str, str]
    stub: StubServer
    directory: Path

    def post(self, path: str, body: dict[str, object]) -> httpx.Response:
        self.stub.requests.clear()
        return httpx.post(
            f"{self.url}{path}", json=body, headers=self.headers, timeout=REQUEST_TIMEOUT
        )


@contextlib.contextmanager
def litellm_proxy(
    directory: Path, config: str, env: dict[str, str] | None = None
) -> Iterator[Proxy]:
    """Start the proxy with `config` (formatted with ``{stub}`` and ``{master_key}``) against a
    fresh `StubServer`; yields once it answers, stops both after."""
    missing = [
        m
        for m in ("fastapi", "uvicorn", "backoff", "apscheduler", "yaml", "litellm.proxy")
        if find_spec(m.split(".")[0]) is None
    ]
    if missing:
        pytest.skip(
            f"the LiteLLM proxy is not installed (missing {missing}): pip install 'litellm[proxy]'"
        )
    stub = StubServer()
    stub.start()
    master_key = f"sk-{secrets.token_hex(32)}"
    path = directory / "config.yaml"
    path.write_text(config.format(stub=stub.url, master_key=master_key), encoding="utf-8")
    port = free_port()
    full_env = {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "NO_PROXY": "127.0.0.1,localhost",
        **(env or {}),
    }
    for name in ("HEADROOM_API_KEY", "HEADROOM_API_URL"):
        if name not in (env or {}):
            full_env.pop(name, None)
    log_path = directory / "proxy.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _RUN,
            "--config",
            str(path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=full_env,
        cwd=directory,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"litellm proxy exited {proc.returncode}: {log_path.read_text()[-3000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"litellm proxy did not start within {STARTUP_TIMEOUT}s")
            try:
                if httpx.get(f"{url}/health/liveliness", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield Proxy(url, {"Authorization": f"Bearer {master_key}"}, stub, directory)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
        stub.stop()
