"""Scaling of single outputs by kind: time per MB and the ratio to one tiktoken pass.

    PYTHONPATH=. python bench/scaling_kinds.py                  # 10 KB .. 20 MB
    PYTHONPATH=. python bench/scaling_kinds.py --sizes 10000 1000000 --kinds logs code

For each kind (logs, Python code, brace-language code, grep with context,
prose) and size, a fresh interpreter builds a deterministic output of that
size, times one o200k tiktoken pass over it and one `headroom.compress` of a
conversation ending in it (CPU time), then measures the peak of Python
allocations during a second compress (tracemalloc) relative to the input,
next to the peak of one token count of the same text (tiktoken returns every
token as a Python int, so counting alone sets a floor under the peak).
The window is set large enough that only the content transform runs. The
machine may be shared: compare the ratios, which divide out its speed.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

__all__ = ["KINDS", "generate", "main"]

KINDS = ("logs", "code", "code-brace", "grep", "text")
_SIZES = (10_000, 100_000, 1_000_000, 5_000_000, 20_000_000)
_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "was",
    "for",
    "on",
    "with",
    "as",
    "by",
    "at",
    "from",
    "that",
    "this",
    "which",
    "be",
    "are",
    "an",
    "or",
    "it",
    "not",
    "but",
    "system",
    "request",
    "value",
    "service",
    "cache",
    "worker",
    "client",
    "server",
    "queue",
    "table",
    "index",
    "record",
    "field",
    "update",
    "delete",
    "create",
    "read",
    "write",
    "start",
    "stop",
    "retry",
    "timeout",
    "error",
    "limit",
    "batch",
    "user",
    "order",
]


def _logs(rng: random.Random, size: int) -> str:
    out: list[str] = []
    total = i = 0
    while total < size:
        i += 1
        stamp = (
            f"2025-03-11T{8 + i // 3600 % 12:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z"
        )
        r = rng.random()
        if r < 0.001:
            lines = [
                f"{stamp} ERROR [billing-2] c.e.Billing: job failed",
                "Traceback (most recent call last):",
                f'  File "/srv/billing/jobs.py", line {rng.randint(10, 900)}, in run',
                "    total = close_batch(batch)",
                "ValueError: negative amount",
            ]
        elif r < 0.5:
            lines = [f"{stamp} INFO  [web-{i % 8}] GET /api/v1/items/{rng.randint(1, 10**5)} 200"]
        elif r < 0.8:
            lines = [f"{stamp} DEBUG [pool-{i % 4}] pool size={rng.randint(1, 64)} idle={i % 9}"]
        else:
            lines = [f"{stamp} INFO  [sched] job sync-{i % 9} finished in {rng.randint(1, 999)}ms"]
        for line in lines:
            out.append(line)
            total += len(line) + 1
    return "\n".join(out)


def _python(rng: random.Random, size: int) -> str:
    out = ["import logging", "", "log = logging.getLogger(__name__)", "", "class Client:"]
    total = f = 0
    while total < size:
        f += 1
        block = [
            "",
            f"    def method_{f}(self, value, limit={rng.randint(2, 99)}):",
            f'        """Handle case {f}."""',
            f"        result = self._step(value, {rng.randint(2, 9)})",
            "        if result is None:",
            "            return None",
            f"        for attempt in range({rng.randint(2, 9)}):",
            "            result = self._retry(result)",
            "        log.debug('done %s', result)",
            "        return result",
        ]
        out += block
        total += sum(len(line) + 1 for line in block)
    return "\n".join(out)


def _brace(rng: random.Random, size: int) -> str:
    out = ["package com.example;", "", "import java.util.*;", "", "public class Pool {"]
    total = f = 0
    while total < size:
        f += 1
        block = [
            "",
            f"    public int method{f}(int value) {{",
            f"        int count = step(value, {rng.randint(2, 9)});",
            f"        if (count > {rng.randint(2, 99)}) {{",
            "            return -1;",
            "        }",
            "        items.add(count);",
            "        return count;",
            "    }",
        ]
        out += block
        total += sum(len(line) + 1 for line in block)
    out.append("}")
    return "\n".join(out)


def _grep(rng: random.Random, size: int) -> str:
    out: list[str] = []
    total = 0
    files = [
        f"src/{rng.choice(_WORDS)}/{rng.choice(_WORDS)}_{k}.py" for k in range(20 + size // 20_000)
    ]
    while total < size:
        path = rng.choice(files)
        line = rng.randint(10, 2000)
        block = [
            f"{path}-{line - 1}-    value = prepare(item)",
            f"{path}:{line}:    total = compute_total(value, {rng.randint(1, 99)})",
            f"{path}-{line + 1}-    log.debug('total %s', total)",
            "--",
        ]
        out += block
        total += sum(len(x) + 1 for x in block)
    return "\n".join(out)


def _text(rng: random.Random, size: int) -> str:
    out: list[str] = []
    total = 0
    while total < size:
        para = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(40, 120))).capitalize()
        out += [para + ".", ""]
        total += len(para) + 3
    return "\n".join(out)


def generate(kind: str, size: int, seed: int = 7) -> str:
    """A deterministic output of `kind`, about `size` characters long."""
    rng = random.Random(f"{kind}-{seed}")
    makers = {
        "logs": _logs,
        "code": _python,
        "code-brace": _brace,
        "grep": _grep,
        "text": _text,
    }
    return makers[kind](rng, size)


def _measure(kind: str, size: int) -> dict[str, float | str]:
    """Run in a child process: one cell of the table."""
    import time
    import tracemalloc

    from headroom import compress
    from headroom.core.tokens import counter_for_model

    text = generate(kind, size)
    count = counter_for_model("gpt-4o")
    count("warm up the encoder")
    start = time.process_time()
    tokens = count(text)
    tiktoken_s = time.process_time() - start
    call = {"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": "What stands out in this output?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": text},
    ]
    limit = 4 * tokens + 100_000
    start = time.process_time()
    result = compress(messages, model_limit=limit)
    compress_s = time.process_time() - start
    # a fresh copy, so the in-process memo does not answer the second call
    fresh = [*messages[:2], {**messages[2], "content": text + " "}]
    tracemalloc.start()
    compress(fresh, model_limit=limit)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    count(text + "  ")  # the floor: one token count holds every token as a Python int
    _, count_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "kind": kind,
        "size": len(text),
        "tiktoken_s": tiktoken_s,
        "compress_s": compress_s,
        "peak_bytes": peak,
        "count_peak_bytes": count_peak,
        "saved": 1 - result.tokens_after / max(result.tokens_before, 1),
        "applied": ",".join(result.transforms_applied),
    }


def _child(kind: str, size: int) -> dict[str, float | str]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(size)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    if proc.returncode != 0:
        return {"kind": kind, "size": size, "error": proc.stderr.strip().splitlines()[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _human(n: float) -> str:
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.0f} {unit}"
    return f"{n:.0f} B"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=KINDS)
    parser.add_argument("--sizes", nargs="*", type=int, default=list(_SIZES))
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_measure(args.child[0], int(args.child[1]))))
        return
    header = (
        f"{'kind':11} {'size':>7} {'s/MB':>7} {'x tiktoken':>10} {'peak/input':>10} "
        f"{'count peak':>10} {'saved':>6}  transforms"
    )
    print(header)
    print("-" * len(header))
    for kind in args.kinds:
        for size in args.sizes:
            row = _child(kind, size)
            if "error" in row:
                print(f"{kind:11} {_human(size):>7}  error: {row['error']}")
                continue
            mb = float(row["size"]) / 1e6
            ratio = float(row["compress_s"]) / max(float(row["tiktoken_s"]), 1e-6)
            print(
                f"{kind:11} {_human(float(row['size'])):>7} {float(row['compress_s']) / mb:7.2f} "
                f"{ratio:10.1f} {float(row['peak_bytes']) / float(row['size']):10.1f} "
                f"{float(row['count_peak_bytes']) / float(row['size']):10.1f} "
                f"{float(row['saved']):6.1%}  {row['applied']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
