"""Peak memory of compressing one large output, by kind and size, against a baseline.

    PYTHONPATH=. python bench/memory.py                          # this checkout
    PYTHONPATH=. python bench/memory.py --baseline main          # and `main`, same run
    PYTHONPATH=. python bench/memory.py --sizes 1000000 --kinds json logs

For each kind and size, a fresh interpreter builds a deterministic output
(the generators of ``bench/scaling_kinds.py``, plus JSON records and a CSV
table), warms the tokenizer up, and compresses a conversation ending in it
twice, each time on a new copy so the in-process memo does not answer:

* ``rss/input``: how far the process's peak resident set rose above what it
  held before the call (Linux: the peak is reset through
  ``/proc/self/clear_refs``), over the input's size;
* ``py/input``: the peak of Python allocations during the call (tracemalloc),
  over the input's size.

With ``--baseline REF`` the same cells run on ``git archive REF`` too, so the
figures before and after a change come from one run on one machine.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))  # after PYTHONPATH: `headroom` comes from the tree measured

from bench.scaling_kinds import KINDS as TEXT_KINDS  # noqa: E402
from bench.scaling_kinds import generate as generate_text  # noqa: E402

__all__ = ["KINDS", "generate", "main"]

KINDS = (*TEXT_KINDS, "json", "csv")
_SIZES = (1_000_000, 5_000_000, 20_000_000)
_STATUS = ("ok", "ok", "ok", "ok", "degraded", "failed")
_REGIONS = ("eu-west-1", "us-east-1", "ap-south-1", "us-west-2")


def _records(rng: random.Random, size: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    total = 0
    while total < size:
        i = len(rows)
        row = {
            "id": i,
            "host": f"web-{rng.randrange(400):03d}.{rng.choice(_REGIONS)}",
            "status": rng.choice(_STATUS),
            "latency_ms": round(rng.lognormvariate(3, 0.8), 1),
            "updated": f"2025-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
        }
        rows.append(row)
        total += 110
    return rows


def generate(kind: str, size: int, seed: int = 7) -> str:
    """A deterministic output of `kind`, about `size` characters long."""
    if kind in TEXT_KINDS:
        return generate_text(kind, size, seed)
    rows = _records(random.Random(f"{kind}-{seed}"), size)
    if kind == "json":
        return json.dumps(rows, indent=2)
    header = ",".join(rows[0])
    return "\n".join([header, *(",".join(str(v) for v in row.values()) for row in rows)])


def _rss_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _measure(kind: str, size: int) -> dict[str, float | str]:
    """Run in a child process: one cell of the table."""
    import gc
    import tracemalloc

    from headroom import compress

    text = generate(kind, size)
    call = {"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{}"}}

    def conversation(body: str) -> list[dict[str, object]]:
        return [
            {"role": "user", "content": "What stands out in this output?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": body},
        ]

    limit = 10_000_000  # only the content transform runs: no window fitting
    compress(conversation(generate(kind, 20_000)), model_limit=limit)  # tokenizer, imports
    messages = conversation(text + " ")
    gc.collect()
    before = _rss_kb("VmRSS")
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")  # reset the peak (VmHWM) to the current resident set
    result = compress(messages, model_limit=limit)
    rss_peak = _rss_kb("VmHWM") - before
    del result, messages
    messages = conversation(text + "  ")
    gc.collect()
    tracemalloc.start()
    compress(messages, model_limit=limit)
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "kind": kind,
        "size": len(text),
        "rss_bytes": rss_peak * 1024,
        "py_bytes": py_peak,
    }


def _child(tree: Path, kind: str, size: int) -> dict[str, float | str]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(size)],
        capture_output=True,
        text=True,
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["no output"]
        return {"kind": kind, "size": size, "error": lines[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _cell(row: dict[str, float | str]) -> str:
    if "error" in row:
        return f"error: {row['error']}"
    size = float(row["size"])
    return f"{float(row['rss_bytes']) / size:5.1f}x {float(row['py_bytes']) / size:5.1f}x"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=KINDS)
    parser.add_argument("--sizes", nargs="*", type=int, default=list(_SIZES))
    parser.add_argument("--baseline", help="a git ref to measure in the same run")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_measure(args.child[0], int(args.child[1]))))
        return
    from bench.engines import checkout  # the parent's own; a child imports from its tree

    with tempfile.TemporaryDirectory(prefix="headroom-baseline-") as tmp:
        trees = [("this tree", REPO_ROOT)]
        if args.baseline:
            trees.insert(0, (args.baseline, checkout(args.baseline, Path(tmp)).cwd))
        names = "".join(f" {name[:22]:>24}" for name, _ in trees)
        print(f"peak memory over input size (rss/input py/input)\n{'kind':11} {'size':>6}{names}")
        for kind in args.kinds:
            for size in args.sizes:
                cells = "".join(f" {_cell(_child(tree, kind, size)):>24}" for _, tree in trees)
                print(f"{kind:11} {size / 1e6:4.0f}MB{cells}", flush=True)


if __name__ == "__main__":
    main()
