"""Which LiteLLM paths `litellm.callbacks = [HeadroomCallback()]` compresses, measured at the provider.

Run: PYTHONPATH=. python bench/litellm_paths.py [--no-proxy]

Every row sends the same 26k-token agent turn (a syslog tool output) through
one LiteLLM entry point to a loopback fake OpenAI/Anthropic server that
records each request body (tests/integrations/litellm/fakes.py), and prints
what that server received: tool-output characters before -> after, whether
`headroom_retrieve` was offered, and how many requests' savings the callback
counted (once per request that succeeded). The proxy rows start the real
`litellm --config` with the YAML line from the docs (~1 min).
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import asyncio
import contextlib
import importlib.metadata
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import litellm

from headroom.integrations.litellm import HeadroomCallback, acompletion, completion
from tests.conftest import case
from tests.integrations.litellm.fakes import FakeProvider, StubServer
from tests.integrations.litellm.helpers import tool_output, was_compressed

logging.getLogger("headroom.litellm").setLevel(logging.ERROR)
litellm.suppress_debug_info = True

MODEL = "openai/gpt-4o"
CLAUDE = "anthropic/claude-sonnet-4-5-20250929"


def _messages() -> list[dict[str, Any]]:
    return case("p-logs-linux")["messages"]  # type: ignore[no-any-return]


def _anthropic() -> tuple[str, list[dict[str, Any]]]:
    data = case("p-anth-json-comments")
    return data["system"], data["messages"]


def _tool_names(body: dict[str, Any]) -> list[str]:
    names = []
    for tool in body.get("tools") or []:
        fn = tool.get("function") if isinstance(tool, dict) else None
        names.append((fn or tool).get("name"))
    return names


class Bench:
    def __init__(self) -> None:
        self.stub = StubServer()
        self.stub.start()
        self.rows: list[tuple[str, str, str, str, str]] = []

    @property
    def openai(self) -> dict[str, Any]:
        return {"api_base": f"{self.stub.url}/v1", "api_key": "sk-bench"}

    @property
    def claude(self) -> dict[str, Any]:
        return {"api_base": self.stub.url, "api_key": "sk-ant-bench"}

    def fresh(self) -> HeadroomCallback:
        for name in ("callbacks", "input_callback", "success_callback", "failure_callback"):
            setattr(litellm, name, [])
        litellm._async_success_callback = []
        litellm._async_failure_callback = []
        cb = HeadroomCallback()
        litellm.callbacks = [cb]
        self.stub.requests.clear()
        self.stub.failures = 0
        return cb

    @staticmethod
    def per_request(model: str, messages: list[Any]) -> int:
        """Tokens one request saves (a fresh callback: nothing memoized)."""
        new = HeadroomCallback().compress_request({"model": model, "messages": messages})
        return int(new["metadata"]["headroom"]["tokens_saved"]) if new else 0

    @staticmethod
    def settle(cb: HeadroomCallback, want: int) -> None:
        """Wait for LiteLLM's success events (sync calls report from a logging thread)."""
        deadline = time.monotonic() + 5
        while cb.total_tokens_saved < want and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # late events would count twice: give them time to show

    @staticmethod
    async def asettle(cb: HeadroomCallback, want: int) -> None:
        deadline = time.monotonic() + 5
        while cb.total_tokens_saved < want and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)

    def record(
        self,
        path: str,
        suffix: str,
        original: list[Any],
        cb: HeadroomCallback | None,
        note: str = "",
        model: str = MODEL,
    ) -> None:
        bodies = [b for b in self.stub.bodies(suffix) if isinstance(b, dict)]
        if not bodies:
            self.rows.append((path, "no request", "—", "—", note or "—"))
            return
        before = len(tool_output(original))
        sizes = " / ".join(f"{len(tool_output(b['messages'])):,}" for b in bodies)
        squeezed = all(was_compressed(b["messages"], original) for b in bodies)
        tool = "yes" if any("headroom_retrieve" in _tool_names(b) for b in bodies) else "no"
        counted = "—"
        if cb is not None:
            one = self.per_request(model, original)
            counted = f"{cb.total_tokens_saved / one:.2g}×" if one else "—"
        self.rows.append(
            (
                path,
                f"{before:,} → {sizes}",
                "**yes**" if squeezed else "no",
                tool,
                counted + (f"; {note}" if note else ""),
            )
        )

    def small_router(self) -> Any:
        """A deployment whose window the raw request exceeds and the compressed one fits."""
        return litellm.Router(
            model_list=[
                {
                    "model_name": "small",
                    "litellm_params": {"model": "openai/gpt-4o-mini", **self.openai},
                    "model_info": {"max_input_tokens": 8_000},
                }
            ],
            enable_pre_call_checks=True,
        )

    # ------------------------------------------------------------- SDK, sync

    def sync_rows(self) -> None:
        m = _messages()

        cb = self.fresh()
        litellm.completion(model=MODEL, messages=m, **self.openai)
        self.settle(cb, 1)
        self.record("`litellm.completion`", "/chat/completions", m, cb)

        cb = self.fresh()
        list(litellm.completion(model=MODEL, messages=m, stream=True, **self.openai))
        self.settle(cb, 1)
        self.record("`litellm.completion(stream=True)`", "/chat/completions", m, cb)

        cb = self.fresh()
        litellm.completion(MODEL, m, **self.openai)
        self.settle(cb, 1)
        self.record("`litellm.completion(model, messages)` positional", "/chat/completions", m, cb)

        cb = self.fresh()
        litellm.completion(model=CLAUDE, messages=m, max_tokens=64, **self.claude)
        self.settle(cb, 1)
        self.record("`litellm.completion`, `anthropic/` model", "/v1/messages", m, cb, model=CLAUDE)

        cb = self.fresh()
        router = litellm.Router(
            model_list=[
                {"model_name": "a", "litellm_params": {"model": MODEL, **self.openai}},
                {"model_name": "b", "litellm_params": {"model": MODEL, **self.openai}},
            ],
            fallbacks=[{"a": ["b"]}],
            num_retries=0,
        )
        router.completion(model="a", messages=m)
        self.settle(cb, 1)
        self.record("`Router.completion`", "/chat/completions", m, cb)

        cb = self.fresh()
        self.stub.failures = 1
        router.completion(model="a", messages=m)
        self.settle(cb, 1)
        self.record(
            "`Router.completion`, fallback after an HTTP 500",
            "/chat/completions",
            m,
            cb,
            "2 attempts",
        )

        cb = self.fresh()
        self.stub.failures = 1_000
        with contextlib.suppress(Exception):
            litellm.completion(model=MODEL, messages=m, num_retries=1, **self.openai)
        self.settle(cb, 1)
        self.record(
            "`litellm.completion`, every retry fails",
            "/chat/completions",
            m,
            cb,
            "call raised",
        )
        self.stub.failures = 0

        cb = self.fresh()
        litellm.batch_completion(model=MODEL, messages=[m, m], **self.openai)
        self.settle(cb, 1)
        self.record("`litellm.batch_completion` (2 requests)", "/chat/completions", m, cb)

        cb = self.fresh()
        small = self.small_router()
        with contextlib.suppress(litellm.ContextWindowExceededError):
            small.completion(model="small", messages=m)
        self.settle(cb, 1)
        self.record(
            "`Router(enable_pre_call_checks=True).completion`, fits only compressed",
            "/chat/completions",
            m,
            cb,
            "rejected by the Router before any hook",
        )
        cb = self.fresh()
        completion(model="small", messages=m, router=small)
        self.settle(cb, 1)
        self.record(
            "same, through `headroom.integrations.litellm.completion(router=...)`",
            "/chat/completions",
            m,
            cb,
            model="small",  # the wrapper counts tokens for the model name it was given
        )

        system, am = _anthropic()
        cb = self.fresh()
        try:
            litellm.anthropic.messages.create(
                model=CLAUDE, messages=am, system=system, max_tokens=64, **self.claude
            )
            note = ""
        except ValueError as exc:  # LiteLLM has no sync native Anthropic Messages handler
            note = f"LiteLLM raises: {exc}"
        self.settle(cb, 1)
        self.record(
            "`litellm.anthropic.messages.create` (sync)", "/v1/messages", am, cb, note, CLAUDE
        )

        fake = FakeProvider()
        litellm.custom_provider_map = [{"provider": "fake", "custom_handler": fake}]
        cb = self.fresh()
        litellm.completion(model="fake/gpt-4o", messages=m)
        got = fake.last_messages
        self.rows.append(
            (
                "`litellm.completion`, a `CustomLLM` provider",
                f"{len(tool_output(m)):,} → {len(tool_output(got)):,}",
                "**yes**" if was_compressed(got, m) else "no",
                "no",
                "no body to rewrite; the wrapper reaches it",
            )
        )
        litellm.custom_provider_map = []

    # ------------------------------------------------------------ SDK, async

    async def async_rows(self) -> None:
        m = _messages()
        cb = self.fresh()
        await litellm.acompletion(model=MODEL, messages=m, **self.openai)
        await self.asettle(cb, 1)
        self.record("`litellm.acompletion`", "/chat/completions", m, cb)

        cb = self.fresh()
        stream = await litellm.acompletion(model=MODEL, messages=m, stream=True, **self.openai)
        async for _ in stream:
            pass
        await self.asettle(cb, 1)
        self.record(
            "`litellm.acompletion(stream=True)`",
            "/chat/completions",
            m,
            cb,
            "sent unstreamed, re-streamed to the caller",
        )

        cb = self.fresh()
        await litellm.acompletion(MODEL, m, **self.openai)
        await self.asettle(cb, 1)
        self.record(
            "`litellm.acompletion(model, messages)` positional",
            "/chat/completions",
            m,
            cb,
            "hidden from async hooks; use the `acompletion` wrapper",
        )

        cb = self.fresh()
        await acompletion(MODEL, m, **self.openai)
        await self.asettle(cb, 1)
        self.record(
            "`headroom.integrations.litellm.acompletion(model, messages)`",
            "/chat/completions",
            m,
            cb,
        )

        cb = self.fresh()
        self.stub.failures = 1
        router = litellm.Router(
            model_list=[
                {"model_name": "a", "litellm_params": {"model": MODEL, **self.openai}},
                {"model_name": "b", "litellm_params": {"model": MODEL, **self.openai}},
            ],
            fallbacks=[{"a": ["b"]}],
            num_retries=0,
        )
        await router.acompletion(model="a", messages=m)
        await self.asettle(cb, 1)
        self.record(
            "`Router.acompletion`, fallback after an HTTP 500",
            "/chat/completions",
            m,
            cb,
            "2 attempts",
        )

        cb = self.fresh()
        small = self.small_router()
        with contextlib.suppress(litellm.ContextWindowExceededError):
            await small.acompletion(model="small", messages=m)
        await self.asettle(cb, 1)
        self.record(
            "`Router(enable_pre_call_checks=True).acompletion`, fits only compressed",
            "/chat/completions",
            m,
            cb,
            "rejected by the Router before any hook that can change it; a warning names the wrapper",
        )
        cb = self.fresh()
        await acompletion(model="small", messages=m, router=small)
        await self.asettle(cb, 1)
        self.record(
            "same, through `headroom.integrations.litellm.acompletion(router=...)`",
            "/chat/completions",
            m,
            cb,
            model="small",
        )

        system, am = _anthropic()
        cb = self.fresh()
        await litellm.anthropic.messages.acreate(
            model=CLAUDE, messages=am, system=system, max_tokens=64, **self.claude
        )
        await self.asettle(cb, 1)
        self.record("`litellm.anthropic.messages.acreate`", "/v1/messages", am, cb, model=CLAUDE)

        cb = self.fresh()
        stream = await litellm.anthropic.messages.acreate(
            model=CLAUDE, messages=am, system=system, max_tokens=64, stream=True, **self.claude
        )
        async for _ in stream:
            pass
        await self.asettle(cb, 1)
        self.record(
            "`litellm.anthropic.messages.acreate(stream=True)`",
            "/v1/messages",
            am,
            cb,
            model=CLAUDE,
        )

    # ------------------------------------------------------------------ proxy

    def proxy_rows(self) -> None:
        from tests.integrations.litellm.litellm_proxy import litellm_proxy

        config = (
            "model_list:\n"
            "  - model_name: gpt-4o\n"
            "    litellm_params: {{model: openai/gpt-4o, api_base: '{stub}/v1', api_key: sk}}\n"
            "  - model_name: small-window\n"
            "    litellm_params: {{model: openai/gpt-4o-mini, api_base: '{stub}/v1', api_key: sk}}\n"
            "    model_info: {{max_input_tokens: 8000}}\n"
            "  - model_name: claude\n"
            f"    litellm_params: {{{{model: {CLAUDE}, api_base: '{{stub}}', api_key: sk}}}}\n"
            "router_settings: {{enable_pre_call_checks: true}}\n"
            "general_settings: {{master_key: '{master_key}'}}\n"
            'litellm_settings: {{callbacks: ["headroom.integrations.litellm_callback.HeadroomCallback"]}}\n'
        )
        m = _messages()
        system, am = _anthropic()
        own = self.stub
        with tempfile.TemporaryDirectory() as tmp, litellm_proxy(Path(tmp), config) as proxy:
            self.stub = proxy.stub
            cases: list[tuple[str, str, dict[str, Any], list[Any]]] = [
                ("proxy `/v1/chat/completions`", "/chat/completions", {"model": "gpt-4o"}, m),
                (
                    "proxy `/v1/chat/completions` streamed",
                    "/chat/completions",
                    {"model": "gpt-4o", "stream": True},
                    m,
                ),
                (
                    "proxy `/v1/chat/completions`, pre-call checks, fits only compressed",
                    "/chat/completions",
                    {"model": "small-window"},
                    m,
                ),
                (
                    "proxy `/v1/messages`",
                    "/v1/messages",
                    {"model": "claude", "system": system, "max_tokens": 64},
                    am,
                ),
                (
                    "proxy `/v1/messages` streamed",
                    "/v1/messages",
                    {"model": "claude", "system": system, "max_tokens": 64, "stream": True},
                    am,
                ),
            ]
            for name, suffix, extra, messages in cases:
                route = "/v1/messages" if suffix == "/v1/messages" else "/v1/chat/completions"
                response = proxy.post(route, {**extra, "messages": messages})
                note = (
                    ""
                    if response.status_code == 200
                    else f"HTTP {response.status_code}: {response.text[:300]}"
                )
                self.record(name, suffix, messages, None, note)
        self.stub = own

    def print(self) -> None:
        print(
            "| LiteLLM path (callback in `litellm.callbacks`) | tool output the provider got "
            "(chars) | compressed | `headroom_retrieve` offered | savings counted (requests; "
            "proxy rows: counted in the proxy process) |"
        )
        print("|---|---|---|---|---|")
        for row in self.rows:
            print("| " + " | ".join(row) + " |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-proxy", action="store_true", help="skip the litellm proxy rows")
    args = parser.parse_args(argv)
    bench = Bench()
    try:
        bench.sync_rows()
        asyncio.run(bench.async_rows())
        if not args.no_proxy:
            bench.proxy_rows()
    finally:
        bench.stub.stop()
    print(f"litellm {importlib.metadata.version('litellm')}")
    bench.print()


if __name__ == "__main__":
    main()
