"""Scaling of `compress()` with the length of a conversation, in one run.

    PYTHONPATH=. python bench/scaling.py                 # headroom only
    PYTHONPATH=. python bench/scaling.py --peer-python /work/peer/bin/python
    PYTHONPATH=. python bench/scaling.py --baseline main    # and `main`, same run

For 1k/2k/4k/8k tool exchanges (about 1.5 KB each), with a user question first
and without one: the first-seen time, the time when the same history is
re-sent (parsed again, as a proxy receives it), their ratio, the share of the
re-send spent in Python's garbage collector, and the growth against 1k
exchanges (linear is 2x/4x/8x). Then one request of 100,000 tiny
tool messages. Each engine runs in a fresh process (``bench/loop_runner.py``);
timings are wall-clock (a re-send the quickest of three) and noisy on a shared
machine: compare ratios, and the ratio in CPU time, which waiting for a core
does not inflate.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.engines import Engine, checkout, ours, peer, tiktoken_cache  # noqa: E402

__all__ = ["format_scaling", "main", "run_loop_job"]

LOOP_RUNNER = Path(__file__).resolve().parent / "loop_runner.py"
SIZES = (1000, 2000, 4000, 8000)
TINY = 100_000


def run_loop_job(engine: Engine, job: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one ``loop_runner.py`` job in a fresh interpreter of `engine`."""
    with tempfile.TemporaryDirectory(prefix="headroom-loop-") as tmp:
        job_path, out_path = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        env = dict(engine.env)  # the runner counts o200k tokens with tiktoken, offline
        env.setdefault("TIKTOKEN_CACHE_DIR", str(tiktoken_cache(Path(tmp) / "tiktoken")))
        command = [
            engine.python,
            *(["-I"] if engine.isolated else []),
            str(LOOP_RUNNER),
            str(job_path),
            str(out_path),
        ]
        try:
            done = subprocess.run(
                command,
                cwd=engine.cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:.0f} s"}
        if done.returncode != 0 or not out_path.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return {"error": f"exit {done.returncode}: " + " | ".join(tail)}
        result: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8"))
        return result


def _measure(engine: Engine, sizes: tuple[int, ...], tiny: int, timeout: float) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for question in (True, False):
        job = {"phase": "scaling", "sizes": list(sizes), "question": question}
        if question:
            job["tiny"] = tiny
        figures["question" if question else "none"] = run_loop_job(engine, job, timeout)
    return figures


def format_scaling(name: str, figures: dict[str, Any]) -> list[str]:
    """The table of one engine's figures."""
    lines = [
        f"## {name}",
        "| exchanges | question first | MB | first-seen s | growth vs 1k | re-sent s "
        "| re-sent / first | same in CPU time | GC share of re-sent |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label in ("question", "none"):
        run = figures.get(label, {})
        if "error" in run:
            lines.append(f"| - | {label} | error: {run['error']} | | | | | | |")
            continue
        rows = run.get("rows", [])
        base = rows[0]["first_s"] if rows else 0.0
        for row in rows:
            growth = row["first_s"] / base if base else 0.0
            cpu_ratio = (
                f"{row['resent_cpu_s'] / row['first_cpu_s']:.3f}x"
                if row.get("first_cpu_s")
                else "-"
            )
            lines.append(
                f"| {row['n']:,} | {'yes' if label == 'question' else 'no'} | "
                f"{row['bytes'] / 1e6:.1f} | {row['first_s']:.2f} | {growth:.1f}x | "
                f"{row['resent_s']:.2f} | {row['resent_s'] / row['first_s']:.3f}x | "
                f"{cpu_ratio} | {row.get('resent_gc_s', 0.0) / max(row['resent_s'], 1e-9):.0%} |"
            )
    tiny = figures.get("question", {}).get("tiny")
    if tiny:
        lines.append(
            f"\n{tiny['n']:,} tiny tool messages in one request "
            f"({tiny['bytes'] / 1e6:.1f} MB): {tiny['s']:.2f} s"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--peer-python", help="interpreter of a virtualenv holding headroom-ai")
    parser.add_argument("--baseline", help="also measure this git ref of the repository")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="exchange counts")
    parser.add_argument("--tiny", type=int, default=TINY, help="tiny tool messages in one request")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per engine run")
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    print(f"python bench/scaling.py {' '.join(argv if argv is not None else sys.argv[1:])}".strip())
    with tempfile.TemporaryDirectory(prefix="headroom-baseline-") as tmp:
        engines = [ours()]
        if args.baseline:
            engines.insert(0, checkout(args.baseline, Path(tmp)))
        for engine in engines:
            name = "headroom (this checkout)" if engine.cwd == REPO_ROOT else engine.name
            for line in format_scaling(name, _measure(engine, sizes, args.tiny, args.timeout)):
                print(line, flush=True)
            print()
    if args.peer_python:
        with tempfile.TemporaryDirectory(prefix="headroom-peer-") as tmp:
            engine = peer(args.peer_python, Path(tmp))
            print()
            for line in format_scaling(
                engine.name, _measure(engine, sizes, args.tiny, args.timeout)
            ):
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
