"""Load test of the Headroom server on loopback: throughput, latency, errors, lost CCR entries.

    python bench/server_load.py                                  # 1 server, in-memory store
    python bench/server_load.py --clients 64 --duration 30
    python bench/server_load.py --servers 2 --store redis        # 2 replicas on a fresh redis-server
    python bench/server_load.py --url http://127.0.0.1:8787      # an already running server

N concurrent clients POST corpus conversations to /v1/compress for a bounded
time. A share of requests carry a fresh nonce in their tool outputs, so the
server really compresses (and stores originals) instead of hitting its memo;
the rest re-send history as an agent loop does. Afterwards every CCR hash the
server returned is retrieved (from a different replica when there are several)
and compared with the original that was sent: a missing or different original
counts as lost. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from headroom.core.ccr import content_hash  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _corpus_dir() -> Path:
    for candidate in (REPO_ROOT.parent / "shared" / "corpus", REPO_ROOT / "headroom" / "demo_data"):
        if candidate.is_dir():
            return candidate
    raise SystemExit("no corpus found (../shared/corpus)")


def _load_cases() -> list[dict[str, Any]]:
    cases = [json.loads(p.read_text()) for p in sorted(_corpus_dir().glob("p-*.json"))]
    return [c for c in cases if c.get("format") == "openai"]


def _tool_texts(messages: list[dict[str, Any]]) -> list[str]:
    return [
        m["content"]
        for m in messages
        if m.get("role") == "tool" and isinstance(m.get("content"), str)
    ]


def _with_nonce(messages: list[dict[str, Any]], nonce: str) -> list[dict[str, Any]]:
    return [
        {**m, "content": f"request {nonce}\n{m['content']}"}
        if m.get("role") == "tool" and isinstance(m.get("content"), str)
        else m
        for m in messages
    ]


def _wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early with code {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url + "/health", timeout=1.0)
            return
        time.sleep(0.1)
    raise SystemExit(f"{url} did not start within {timeout}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def _redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found: apt-get install -y redis-server")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc)


@contextlib.contextmanager
def _servers(count: int, store: str) -> Iterator[list[str]]:
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADROOM_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    try:
        for _ in range(count):
            port = _free_port()
            cmd = [
                sys.executable,
                "-m",
                "headroom.server.cli",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ]
            cmd += ["--store", store, "--log-level", "warning"]
            procs.append(
                subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs, strict=True):
            _wait_up(url, proc)
        yield urls
    finally:
        for proc in procs:
            _stop(proc)


async def _client(
    n: int,
    urls: list[str],
    cases: list[dict[str, Any]],
    deadline: float,
    unique_ratio: float,
    latencies: list[float],
    errors: list[str],
    issued: dict[tuple[int, str], str],
    totals: dict[str, int],
) -> None:
    rng = random.Random(n)
    async with httpx.AsyncClient(timeout=60) as client:
        i = 0
        while time.monotonic() < deadline:
            server_index = (n + i) % len(urls)
            data = cases[rng.randrange(len(cases))]
            messages = data["messages"]
            if rng.random() < unique_ratio:
                messages = _with_nonce(messages, f"{n}-{i}")
            i += 1
            start = time.perf_counter()
            try:
                r = await client.post(
                    urls[server_index] + "/v1/compress", json={"messages": messages}
                )
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            latencies.append(time.perf_counter() - start)
            if r.status_code != 200:
                errors.append(f"HTTP {r.status_code}: {r.text[:200]}")
                continue
            body = r.json()
            if len(body["messages"]) != len(messages):
                errors.append("message count changed")
                continue
            totals["before"] += body["tokens_before"]
            totals["after"] += body["tokens_after"]
            originals = {content_hash(t): t for t in _tool_texts(messages)}
            for h in body["ccr_hashes"]:
                if h in originals:
                    issued[(server_index, h)] = originals[h]


async def _check_lost(urls: list[str], issued: dict[tuple[int, str], str]) -> tuple[int, int]:
    """Retrieve every issued hash from the *next* replica; count missing or different originals."""
    sem = asyncio.Semaphore(32)
    lost = 0

    async with httpx.AsyncClient(timeout=60) as client:

        async def check(server_index: int, h: str, original: str) -> None:
            nonlocal lost
            async with sem:
                url = urls[(server_index + 1) % len(urls)]
                r = await client.get(f"{url}/v1/retrieve/{h}")
                if r.status_code != 200 or r.json()["original_content"] != original:
                    lost += 1

        await asyncio.gather(*(check(s, h, o) for (s, h), o in issued.items()))
    return len(issued), lost


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _run(args: argparse.Namespace, urls: list[str]) -> dict[str, Any]:
    cases = _load_cases()
    latencies: list[float] = []
    errors: list[str] = []
    issued: dict[tuple[int, str], str] = {}
    totals = {"before": 0, "after": 0}
    # Warm each server (first-request imports and tokenizer loading are not load).
    async with httpx.AsyncClient(timeout=60) as client:
        for url in urls:
            await client.post(url + "/v1/compress", json={"messages": cases[0]["messages"]})
    start = time.monotonic()
    deadline = start + args.duration
    await asyncio.gather(
        *(
            _client(n, urls, cases, deadline, args.unique_ratio, latencies, errors, issued, totals)
            for n in range(args.clients)
        )
    )
    elapsed = time.monotonic() - start
    checked, lost = await _check_lost(urls, issued)
    return {
        "servers": len(urls),
        "store": args.store,
        "clients": args.clients,
        "duration_s": round(elapsed, 2),
        "requests": len(latencies),
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "latency_ms": {
            "p50": round(_pct(latencies, 0.50), 1),
            "p90": round(_pct(latencies, 0.90), 1),
            "p99": round(_pct(latencies, 0.99), 1),
            "mean": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
        },
        "errors": len(errors),
        "error_samples": errors[:5],
        "tokens_before": totals["before"],
        "tokens_after": totals["after"],
        "ccr_entries_checked": checked,
        "ccr_entries_lost": lost,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load (bounded)")
    parser.add_argument("--servers", type=int, default=1, help="server processes (share the store)")
    parser.add_argument(
        "--store", default="memory", help="memory, sqlite, or redis (a fresh redis-server)"
    )
    parser.add_argument(
        "--unique-ratio", type=float, default=0.5, help="share of requests with new content"
    )
    parser.add_argument("--url", help="load an already running server instead of starting one")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.servers > 1 and args.store == "memory":
        parser.error("several servers need a shared store: --store redis or --store sqlite")

    with contextlib.ExitStack() as stack:
        if args.url:
            urls = [args.url.rstrip("/")]
        else:
            store = args.store
            if store == "redis":
                store = stack.enter_context(_redis())
            elif store == "sqlite":
                tmp = stack.enter_context(tempfile.TemporaryDirectory())
                store = f"sqlite:{tmp}/ccr.db"
            urls = stack.enter_context(_servers(args.servers, store))
        report = asyncio.run(_run(args, urls))

    if args.json:
        print(json.dumps(report, indent=2))
    else:
        lat = report["latency_ms"]
        print(
            f"servers={report['servers']} store={report['store']} clients={report['clients']} "
            f"duration={report['duration_s']}s\n"
            f"requests={report['requests']} throughput={report['throughput_rps']} req/s\n"
            f"latency ms: p50={lat['p50']} p90={lat['p90']} p99={lat['p99']} mean={lat['mean']}\n"
            f"errors={report['errors']} {report['error_samples'] if report['errors'] else ''}\n"
            f"tokens before={report['tokens_before']} after={report['tokens_after']}\n"
            f"CCR entries checked={report['ccr_entries_checked']} lost={report['ccr_entries_lost']}"
        )
    return 0 if report["errors"] == 0 and report["ccr_entries_lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
