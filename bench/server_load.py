"""Load test of the Headroom server on loopback: throughput, latency, errors, lost CCR entries.

    python bench/server_load.py                                  # 1 server, in-memory store
    python bench/server_load.py --clients 64 --duration 30
    python bench/server_load.py --servers 2 --store redis        # 2 replicas on a fresh redis-server
    python bench/server_load.py --url http://127.0.0.1:8787      # an already running server
    python bench/server_load.py --servers 2 --store redis --redis-fault both --duration 15

N concurrent clients POST corpus conversations to /v1/compress for a bounded
time. A share of requests carry a fresh nonce in their tool outputs, so the
server really compresses (and stores originals) instead of hitting its memo;
the rest re-send history as an agent loop does. Afterwards every CCR hash the
server returned is retrieved (from a different replica when there are several)
and compared with the original that was sent: a missing or different original
counts as lost. Only 127.0.0.1 is used.

With ``--redis-fault``, Redis misbehaves mid-run: ``freeze`` stops the process
(SIGSTOP) for a few seconds at a quarter of the run, ``kill`` kills it
(SIGKILL) at 60% and starts a fresh one on the same port a few seconds later,
``both`` does both. Redis runs without persistence, so originals stored before
the kill are gone by design; they are reported apart from unexpected losses.
The servers' RSS is sampled every second.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
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


class _Redis:
    """A throwaway redis-server that the run can freeze, kill and restart."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server not found: apt-get install -y redis-server")
        self.binary = binary
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        no_persistence = ["--save", "", "--appendonly", "no"]
        proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", *no_persistence],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.3)
        return proc

    def freeze(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def restart(self) -> None:
        self.proc = self._start()

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.thaw()
        _stop(self.proc)


@contextlib.contextmanager
def _redis() -> Iterator[_Redis]:
    server = _Redis()
    try:
        yield server
    finally:
        server.stop()


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def _sample_rss(
    pids: list[int], deadline: float, out: list[tuple[float, list[float]]]
) -> None:
    start = time.monotonic()
    while time.monotonic() < deadline:
        out.append((round(time.monotonic() - start, 1), [round(_rss_mb(p), 1) for p in pids]))
        await asyncio.sleep(1.0)


async def _faults(
    redis: _Redis | None, kind: str, start: float, duration: float, events: list[tuple[str, float]]
) -> None:
    """Freeze Redis at 25% of the run for `FAULT_SECONDS`, kill it at 60% (restart after)."""
    if redis is None or kind == "none":
        return
    if kind in ("freeze", "both"):
        await asyncio.sleep(max(0.0, start + 0.25 * duration - time.monotonic()))
        redis.freeze()
        events.append(("freeze", time.monotonic() - start))
        await asyncio.sleep(FAULT_SECONDS)
        redis.thaw()
        events.append(("thaw", time.monotonic() - start))
    if kind in ("kill", "both"):
        await asyncio.sleep(max(0.0, start + 0.6 * duration - time.monotonic()))
        redis.kill()
        events.append(("kill", time.monotonic() - start))
        await asyncio.sleep(FAULT_SECONDS)
        await asyncio.to_thread(redis.restart)
        events.append(("restart", time.monotonic() - start))


FAULT_SECONDS = 3.0


@contextlib.contextmanager
def _servers(count: int, store: str) -> Iterator[list[tuple[str, int]]]:
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
        yield [(url, proc.pid) for url, proc in zip(urls, procs, strict=True)]
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
    issued: dict[tuple[int, str], tuple[str, float]],
    totals: dict[str, int],
    stamps: list[tuple[float, float]],
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
            started = time.monotonic()
            start = time.perf_counter()
            try:
                r = await client.post(
                    urls[server_index] + "/v1/compress", json={"messages": messages}
                )
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            latencies.append(time.perf_counter() - start)
            stamps.append((time.monotonic(), latencies[-1]))
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
                    issued[(server_index, h)] = (originals[h], started)


async def _check_lost(
    urls: list[str], issued: dict[tuple[int, str], tuple[str, float]], wiped_at: float | None
) -> tuple[int, int, int]:
    """Retrieve every issued hash from the *next* replica; count missing or different originals.

    Returns (checked, lost, wiped): `wiped` are originals of requests started
    before a Redis kill (gone by design with persistence off), not counted in `lost`.
    """
    sem = asyncio.Semaphore(32)
    lost = wiped = 0

    async with httpx.AsyncClient(timeout=60) as client:

        async def check(server_index: int, h: str, original: str, at: float) -> None:
            nonlocal lost, wiped
            async with sem:
                url = urls[(server_index + 1) % len(urls)]
                r = await client.get(f"{url}/v1/retrieve/{h}")
                if r.status_code != 200 or r.json()["original_content"] != original:
                    if wiped_at is not None and at <= wiped_at:
                        wiped += 1
                    else:
                        lost += 1

        await asyncio.gather(*(check(s, h, o, at) for (s, h), (o, at) in issued.items()))
    return len(issued), lost, wiped


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _run(
    args: argparse.Namespace, servers: list[tuple[str, int]], redis: _Redis | None
) -> dict[str, Any]:
    urls = [url for url, _ in servers]
    pids = [pid for _, pid in servers if pid > 0]
    cases = _load_cases()
    latencies: list[float] = []
    stamps: list[tuple[float, float]] = []
    errors: list[str] = []
    issued: dict[tuple[int, str], tuple[str, float]] = {}
    totals = {"before": 0, "after": 0}
    rss: list[tuple[float, list[float]]] = []
    events: list[tuple[str, float]] = []
    # Warm each server (first-request imports and tokenizer loading are not load).
    async with httpx.AsyncClient(timeout=60) as client:
        for url in urls:
            await client.post(url + "/v1/compress", json={"messages": cases[0]["messages"]})
    start = time.monotonic()
    deadline = start + args.duration
    await asyncio.gather(
        _sample_rss(pids, deadline, rss),
        _faults(redis, args.redis_fault, start, args.duration, events),
        *(
            _client(
                n,
                urls,
                cases,
                deadline,
                args.unique_ratio,
                latencies,
                errors,
                issued,
                totals,
                stamps,
            )
            for n in range(args.clients)
        ),
    )
    elapsed = time.monotonic() - start
    kill = next((at for name, at in events if name == "kill"), None)
    checked, lost, wiped = await _check_lost(urls, issued, None if kill is None else start + kill)
    windows: dict[str, list[float]] = {}
    for name, end_name in (("freeze", "thaw"), ("kill", "restart")):
        begin = next((at for n, at in events if n == name), None)
        end = next((at for n, at in events if n == end_name), None)
        if begin is not None and end is not None:
            # Requests that finished while the fault lasted (or just after: they started in it).
            windows[name] = [
                lat for t, lat in stamps if start + begin <= t <= start + end + FAULT_SECONDS
            ]
    final_stats: list[Any] = []
    async with httpx.AsyncClient(timeout=10) as client:
        for url in urls:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                final_stats.append((await client.get(url + "/stats")).json().get("ccr"))
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
        "ccr_entries_wiped_by_redis_kill": wiped,
        "redis_events_s": [(name, round(at, 1)) for name, at in events],
        "latency_during_faults_ms": {
            name: {
                "requests": len(values),
                "p50": round(_pct(values, 0.5), 1),
                "p99": round(_pct(values, 0.99), 1),
            }
            for name, values in windows.items()
        },
        "rss_mb_over_time": rss[:: max(1, len(rss) // 8)],
        "rss_mb_max": [max((r[i] for _, r in rss), default=0.0) for i in range(len(pids))],
        "server_ccr_stats": final_stats,
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
    parser.add_argument(
        "--redis-fault",
        choices=["none", "freeze", "kill", "both"],
        default="none",
        help="with --store redis: freeze and/or kill Redis mid-run",
    )
    args = parser.parse_args(argv)
    if args.servers > 1 and args.store == "memory":
        parser.error("several servers need a shared store: --store redis or --store sqlite")

    if args.redis_fault != "none" and args.store != "redis":
        parser.error("--redis-fault needs --store redis")
    with contextlib.ExitStack() as stack:
        redis: _Redis | None = None
        if args.url:
            servers = [(args.url.rstrip("/"), -1)]
        else:
            store = args.store
            if store == "redis":
                redis = stack.enter_context(_redis())
                store = redis.url
            elif store == "sqlite":
                tmp = stack.enter_context(tempfile.TemporaryDirectory())
                store = f"sqlite:{tmp}/ccr.db"
            servers = stack.enter_context(_servers(args.servers, store))
        report = asyncio.run(_run(args, servers, redis))

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
            f" wiped-by-redis-kill={report['ccr_entries_wiped_by_redis_kill']}\n"
            f"redis events (s into run): {report['redis_events_s']}\n"
            f"latency during faults: {report['latency_during_faults_ms']}\n"
            f"RSS MB over time (s, per server): {report['rss_mb_over_time']}\n"
            f"RSS MB max per server: {report['rss_mb_max']}\n"
            f"server ccr stats: {report['server_ccr_stats']}"
        )
    return 0 if report["errors"] == 0 and report["ccr_entries_lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
