"""The LiteLLM proxy with Headroom in its YAML, started on 127.0.0.1 and sent one request.

    python examples/litellm_proxy.py

Offline by default: the deployment answers with `mock_response` (the proxy's
hooks, Headroom's included, still run). With OPENAI_API_KEY set it forwards
to gpt-4o-mini. Needs ``pip install 'litellm[proxy]'``; startup takes a while.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import httpx

# LiteLLM resolves each `callbacks:` entry to an object, so the YAML names the
# module-level instance (a class path would stop the proxy at startup).
CONFIG = """\
model_list:
  - model_name: ops
    litellm_params:
      model: openai/gpt-4o-mini
{extra}
general_settings:
  master_key: {master_key}
litellm_settings:
  callbacks: ["headroom.integrations.litellm.proxy_config.headroom_callback"]
"""


def main() -> None:
    exe = shutil.which("litellm")
    if exe is None:
        sys.exit("the litellm CLI is missing: pip install 'litellm[proxy]'")
    offline = not os.environ.get("OPENAI_API_KEY")
    extra = (
        '      mock_response: "(offline: mock answer)"'
        if offline
        else "      api_key: os.environ/OPENAI_API_KEY"
    )
    master_key = f"sk-{secrets.token_hex(32)}"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = Path(tempfile.mkdtemp(prefix="headroom-litellm-"))
    config = workdir / "config.yaml"
    config.write_text(CONFIG.format(extra=extra, master_key=master_key), encoding="utf-8")
    print(config.read_text())
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HEADROOM_MIN_TOKENS": "500"}
    log = (workdir / "proxy.log").open("wb")
    proc = subprocess.Popen(
        [exe, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the proxy did not start; see {workdir / 'proxy.log'}")
            try:
                if httpx.get(f"{url}/health/liveliness", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        sample = resources.files("headroom").joinpath("demo_data/p-logs-openssh.json")
        messages = json.loads(sample.read_text(encoding="utf-8"))["messages"]
        response = httpx.post(
            f"{url}/v1/chat/completions",
            json={"model": "ops", "messages": messages},
            headers={"Authorization": f"Bearer {master_key}"},
            timeout=120,
        )
        print(response.status_code, response.json()["choices"][0]["message"]["content"][:300])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    main()
