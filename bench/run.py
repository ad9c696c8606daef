"""Run the whole benchmark and print the report.

    python bench/run.py                         # headroom on ../shared/corpus
    python bench/run.py --peer                  # and headroom-ai 0.42.0 (creates bench/.peer)
    python bench/run.py --peer-python /tmp/peer/bin/python --json bench/results/latest.json
    python bench/run.py --peer --reuse-peer     # re-measure headroom only, reuse the peer's results

Every case runs in a fresh interpreter per engine (see ``bench/peer_runner.py``);
all figures are computed here with one token counter (o200k_base).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.cache_sim import PRICINGS, request_points  # noqa: E402
from bench.corpus import CORPUS_ENV, Case, default_corpus_dir, load_cases  # noqa: E402
from bench.engines import (  # noqa: E402
    PEER_PACKAGE,
    PEER_VERSION,
    Engine,
    ensure_peer_venv,
    merge_phases,
    ours,
    peer,
    run_phase,
)
from bench.evaluate import CaseFigures, evaluate  # noqa: E402
from bench.peer_cache import PeerCache  # noqa: E402
from bench.report import OVERALL, format_report, summarize  # noqa: E402
from bench.request_tokens import RequestCounter  # noqa: E402

__all__ = ["main"]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus", help=f"corpus directory (default: ${CORPUS_ENV} or ../shared/corpus)"
    )
    parser.add_argument(
        "--peer",
        action="store_true",
        help=f"also run {PEER_PACKAGE}=={PEER_VERSION} (venv bench/.peer)",
    )
    parser.add_argument(
        "--peer-python", help="interpreter of an existing venv holding the peer (implies --peer)"
    )
    parser.add_argument(
        "--peer-venv",
        default=str(REPO_ROOT / "bench" / ".peer"),
        help="where --peer creates its venv",
    )
    parser.add_argument(
        "--reuse-peer",
        action="store_true",
        help="reuse headroom-ai's results from an earlier run when case and runner are unchanged",
    )
    parser.add_argument(
        "--peer-cache",
        default=str(REPO_ROOT / "bench" / "results" / "peer-cache.json"),
        help="where headroom-ai's raw results are kept for --reuse-peer",
    )
    parser.add_argument(
        "--json", dest="json_path", help="also save every figure as JSON to this path"
    )
    parser.add_argument(
        "--case", action="append", default=[], help="run only this case id (repeatable)"
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="calls on repeated content per case (default 5)"
    )
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="parallel replay processes (untimed)"
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds per case and engine (default 120)"
    )
    return parser.parse_args(argv)


def _run_engine(
    engine: Engine,
    cases: list[Case],
    args: argparse.Namespace,
    counter: RequestCounter,
    cache: PeerCache | None = None,
) -> tuple[list[CaseFigures], list[str]]:
    """Figures of ``engine`` on ``cases``, and when any reused results were measured.

    Timed runs go one at a time (latency needs a quiet machine), then the
    untimed replays run in parallel. With ``cache``, results whose key still
    matches are reused and fresh ones are stored.
    """
    raws: dict[str, dict[str, Any]] = {}
    keys: dict[str, str] = {}
    reused: list[str] = []
    for case in cases:
        points = request_points(case.messages, case.format)
        if cache is not None:
            keys[case.id] = cache.key(_path(case), case.model, args.repeats, points)
            hit = cache.get(case.id, keys[case.id]) if args.reuse_peer else None
            if hit is not None:
                raws[case.id], measured = hit
                reused.append(measured)
    todo = [c for c in cases if c.id not in raws]
    singles = []
    for case in todo:
        started = time.perf_counter()
        singles.append(
            run_phase(engine, _path(case), case.model, "single", [], args.repeats, args.timeout)
        )
        print(
            f"  [{engine.name}] {case.id:28} first-seen run ({time.perf_counter() - started:.1f} s)",
            file=sys.stderr,
        )

    def replay(case: Case) -> dict[str, Any]:
        points = request_points(case.messages, case.format)
        return run_phase(engine, _path(case), case.model, "replay", points, 0, args.timeout)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        replays = list(pool.map(replay, todo))
    measured_now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for case, single, replayed in zip(todo, singles, replays, strict=True):
        raws[case.id] = merge_phases(single, replayed)
        if cache is not None:
            cache.put(case.id, keys[case.id], raws[case.id], measured_now)
    if cache is not None and todo:
        cache.save()
    figures = []
    for case in cases:
        f = evaluate(case, engine.name, raws[case.id], counter)
        figures.append(f)
        print(
            f"  [{engine.name}] {case.id:28} saved {f.saving * 100:5.1f}%  needles {f.kept}/{f.needles}",
            file=sys.stderr,
        )
    return figures, reused


def _path(case: Case) -> Path:
    if case.path is None:
        raise ValueError(f"case {case.id} was not loaded from a file")
    return case.path


def _load() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except (AttributeError, OSError):
        return "unknown"


def _revision() -> str:
    """The commit measured, and whether the engine's sources had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "headroom/core", "headroom/__init__.py"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown revision"
    return f"commit {head}" + (" + uncommitted changes in headroom/core" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    corpus = default_corpus_dir(args.corpus)
    cases = load_cases(corpus, args.case)
    from headroom.core.tokens import counter_for_model

    counter = RequestCounter(counter_for_model("gpt-4o"))
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="headroom-bench-peer-") as workdir:
        engines = [ours()]
        if args.peer or args.peer_python:
            python = args.peer_python or str(ensure_peer_venv(Path(args.peer_venv)))
            engines.append(peer(python, Path(workdir)))
        figures = {}
        notes = []
        for index, engine in enumerate(engines):
            print(f"running {engine.name} on {len(cases)} cases ({engine.python})", file=sys.stderr)
            cache = PeerCache(Path(args.peer_cache), PEER_VERSION) if index else None
            figures[engine.name], reused = _run_engine(engine, cases, args, counter, cache)
            if reused:
                notes.append(
                    f"{engine.name}: {len(reused)} of {len(cases)} cases reused from runs at"
                    f" {min(reused)}..{max(reused)} (--reuse-peer); its latency is from then"
                )
    names = [e.name for e in engines]

    categories = sorted({c.category for c in cases})
    summaries = []
    for category in [*categories, OVERALL]:
        for name in names:
            chosen = [f for f in figures[name] if category in (OVERALL, f.category)]
            summaries.append(summarize(name, category, chosen))

    now = datetime.now(timezone.utc)
    command = "python bench/run.py" + (
        " " + " ".join(sys.argv[1:]) if argv is None and sys.argv[1:] else ""
    )
    header = [
        f"Headroom benchmark, {now:%Y-%m-%d %H:%M} UTC: {command}",
        f"engine: {_revision()}; corpus: {corpus} ({len(cases)} cases);"
        f" Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs,"
        f" load average {_load()} (latency is wall clock: compare the CPU columns on a busy machine)",
        "tokens: o200k_base over the whole request (system prompt + messages, 4 framing tokens per"
        " message), one counter for both engines; models: gpt-4o (OpenAI cases),"
        " claude-sonnet-4-5-20250929 (Anthropic cases)",
        "latency: one fresh process per case; first-seen = first call on the case after a warm-up call"
        f" on synthetic data (wall clock; CPU = that call's process CPU time);"
        f" repeated = median of {args.repeats} identical calls",
        "cache: each prefix ending in a user message or a tool-result batch compressed independently;"
        " longest common prefix with the previous request, message by message;"
        " costs: "
        + "; ".join(
            f"{p.name} = cache read {p.cache_read}x, uncached {p.uncached}x" for p in PRICINGS
        )
        + " (uncompressed replay priced the same way)",
        f"wall time: {time.perf_counter() - began:.0f} s",
        *notes,
    ]
    print(format_report(header, summaries, figures, names))
    if args.json_path:
        path = Path(args.json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "date": now.isoformat(timespec="seconds"),
            "command": command,
            "corpus": str(corpus),
            "summaries": [s.to_dict() for s in summaries],
            "cases": {name: [f.to_dict() for f in figures[name]] for name in names},
        }
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"figures saved to {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
