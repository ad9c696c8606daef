"""The LiteLLM proxy with Headroom in its YAML, started on 127.0.0.1 and sent one request.

    pip install 'headroom[litellm]' 'litellm[proxy]'
    python examples/litellm_proxy.py

`headroom[all]` installs LiteLLM's SDK only; the proxy server is LiteLLM's own
extra. Offline by default: the deployment answers with `mock_response` (the
proxy's hooks, Headroom's included, still run). With OPENAI_API_KEY set it
forwards to gpt-4o-mini. It prints what Headroom did to the request, as
another callback in the same proxy sees it. Startup takes a while.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

import httpx

# The line LiteLLM's docs show: it resolves to a ready HeadroomCallback instance
# (LiteLLM's loader runs only instances), configured from HEADROOM_* variables.
CONFIG = """\
model_list:
  - model_name: ops
    litellm_params:
      model: openai/gpt-4o-mini
{extra}
general_settings:
  master_key: {master_key}
litellm_settings:
  callbacks: ["headroom.integrations.litellm_callback.HeadroomCallback", "report.report"]
"""

# A second callback, next to the config: writes the savings Headroom put in the
# request's metadata (the same figures reach spend logs as spend_logs_metadata).
REPORT = """\
import json, os
from litellm.integrations.custom_logger import CustomLogger


class Report(CustomLogger):
    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        with open(os.path.join(os.path.dirname(__file__), "report.jsonl"), "a") as f:
            f.write(json.dumps(metadata.get("headroom")) + "\\n")


report = Report()
"""

_PROXY_MODULES = ("fastapi", "uvicorn", "backoff", "apscheduler", "yaml")
_RUN = "import sys; from litellm import run_server; sys.argv[0] = 'litellm'; run_server()"
_HOST = ["--host", "127.0.0.1"]


def _check_install() -> None:
    if find_spec("litellm") is None:
        sys.exit("LiteLLM is missing: pip install 'headroom[litellm]' 'litellm[proxy]'")
    missing = [m for m in _PROXY_MODULES if find_spec(m) is None]
    if missing:
        sys.exit(
            f"the LiteLLM proxy server is missing {', '.join(missing)}: "
            "pip install 'litellm[proxy]' (headroom[all] installs LiteLLM's SDK only)"
        )


def _wait_for(path: Path, timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if text.endswith("\n"):
            return text.splitlines()[0]
        time.sleep(0.1)
    return None


def main() -> None:
    _check_install()
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
    (workdir / "report.py").write_text(REPORT, encoding="utf-8")
    print(config.read_text())
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HEADROOM_MIN_TOKENS": "500"}
    log = (workdir / "proxy.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUN, "--config", str(config), *_HOST, "--port", str(port)],
        env=env,
        cwd=workdir,
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
        line = _wait_for(workdir / "report.jsonl", timeout=30)
        stats = json.loads(line) if line else None
        if not stats:
            print("Headroom left this request as it was (nothing to compress)")
        else:
            print(
                f"Headroom: {stats['tokens_before']:,} -> {stats['tokens_after']:,} tokens "
                f"({stats['compression_ratio']:.0%} saved; {', '.join(stats['transforms_applied'])})"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    main()
