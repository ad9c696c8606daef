"""A long tool-using agent loop at the context window: prefix breaks and time.

    PYTHONPATH=. python bench/agent_loop.py                 # headroom only
    PYTHONPATH=. python bench/agent_loop.py --peer-python /work/peer/bin/python

One task answered in ``--turns`` tool rounds (default 200; shape
"autonomous"), or a user message before every round (shape "chat"), each round
adding a 20-50 KB output (metrics JSON, logs, grep, code), sent to a 128k-token model
(gpt-4o) after every round, as an agent framework does. Each request is
compressed in order, in one fresh process per engine (``bench/loop_runner.py``).
Reported: total compression time, the largest request sent (o200k tokens)
against the window, and prefix breaks: requests whose predecessor, as sent, is
not a prefix of them (message by message), so the provider's prompt cache
misses from the first changed message on, per 100 turns.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.engines import Engine, ours, peer  # noqa: E402
from bench.scaling import run_loop_job  # noqa: E402

__all__ = ["cache_cost", "main", "prefix_breaks"]

WINDOW = 128_000


def prefix_breaks(requests: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(request index, first changed message) for each request that does not extend
    the one before it."""
    breaks = []
    for i in range(1, len(requests)):
        before, now = requests[i - 1]["digests"], requests[i]["digests"]
        common = 0
        for a, b in zip(before, now, strict=False):
            if a != b:
                break
            common += 1
        if common < len(before):
            breaks.append((i, common))
    return breaks


def cache_cost(requests: list[dict[str, Any]], cache_read: float = 0.1) -> tuple[float, float]:
    """(share of sent tokens the prompt cache served, input cost in uncached-token units
    relative to sending every token uncached), the cache keeping the previous request."""
    cached = sent = 0
    previous: list[str] = []
    for request in requests:
        common = 0
        for a, b in zip(previous, request["digests"], strict=False):
            if a != b:
                break
            common += 1
        cached += sum(request["sizes"][:common])
        sent += sum(request["sizes"])
        previous = request["digests"]
    return cached / max(1, sent), (cache_read * cached + (sent - cached)) / max(1, sent)


def _report(engine: Engine, turns: int, shape: str, timeout: float) -> list[str]:
    job = {"phase": "agent_loop", "turns": turns, "model": "gpt-4o", "shape": shape}
    figures = run_loop_job(engine, job, timeout)
    if "error" in figures:
        return [f"{engine.name} ({shape}): error: {figures['error']}"]
    requests = figures["requests"]
    breaks = prefix_breaks(requests)
    largest = max(r["tokens"] for r in requests)
    over = sum(1 for r in requests if r["tokens"] > WINDOW)
    cached, cost = cache_cost(requests)
    return [
        f"{engine.name} ({shape}): {len(requests)} requests, compression {figures['total_s']:.1f} s in total, "
        f"largest request {largest:,} tokens ({over} over the {WINDOW:,} window)",
        f"  prompt cache: {cached:.1%} of sent tokens read from it, input cost "
        f"{cost:.2f}x of sending them uncached (cache read 0.1x)",
        f"  prefix breaks: {len(breaks)} ({100 * len(breaks) / max(1, len(requests)):.1f} per 100 turns)"
        + (f" at turns {', '.join(str(i) for i, _ in breaks[:40])}" if breaks else ""),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument(
        "--shapes",
        default="autonomous,chat",
        help="one task answered in many rounds, and/or a user message every round",
    )
    parser.add_argument("--peer-python", help="interpreter of a virtualenv holding headroom-ai")
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args(argv)
    print(f"python bench/agent_loop.py {' '.join(sys.argv[1:] if argv is None else argv)}".strip())
    for shape in args.shapes.split(","):
        for line in _report(ours(), args.turns, shape, args.timeout):
            print(line, flush=True)
        if args.peer_python:
            with tempfile.TemporaryDirectory(prefix="headroom-peer-") as tmp:
                engine = peer(args.peer_python, Path(tmp))
                for line in _report(engine, args.turns, shape, args.timeout):
                    print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
