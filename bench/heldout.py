"""Held-out evaluation: generated conversations no engine was tuned on.

    python bench/heldout.py                               # headroom only
    python bench/heldout.py --peer-python /work/peer/bin/python   # and headroom-ai 0.42.0
    python bench/heldout.py --seed 3 --cases-per-class 9 --save-cases /tmp/heldout

``bench/heldout_cases.py`` builds, from a seed, agent conversations for each
class of loss listed in issue 13 (error rows, odd record shapes, extremes asked
in words, rare log events and tracebacks, constants in code bodies, grep
context, answers in a later output, qualified names), with the question before
the output, right after it or turns later, phrased literally or in words. Both
engines run the same cases, each case in a fresh interpreter
(``bench/peer_runner.py``); needles, tokens and validity are measured here with
one counter. It prints per-class recall, the cases that lost a needle, the
token-weighted saving and the median first-seen latency of each engine.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.engines import (  # noqa: E402
    PEER_PACKAGE,
    PEER_VERSION,
    Engine,
    ensure_peer_venv,
    ours,
    peer,
    run_phase,
)
from bench.heldout_cases import CLASSES, POSITIONS, HeldoutCase, generate  # noqa: E402
from bench.needles import haystack, recall  # noqa: E402
from bench.request_tokens import RequestCounter  # noqa: E402
from bench.validate import problems  # noqa: E402

__all__ = ["CaseResult", "line_present", "main", "measure", "report", "run_engine"]

_OVERALL = "all"


@dataclass
class CaseResult:
    """One engine on one generated case."""

    case: str
    klass: str
    position: str
    phrasing: str
    format: str
    engine: str
    needles: int
    tokens_before: int
    tokens_after: int
    lost: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    first_seen_ms: float | None = None
    first_seen_cpu_ms: float | None = None

    @property
    def saving(self) -> float:
        return 1 - self.tokens_after / self.tokens_before if self.tokens_before else 0.0


#: Tab widths under which a re-indented line still has the original's indentation.
_TAB_WIDTHS = (4, 8)


def _width(indent: str, tab: int) -> int:
    return len(indent.replace("\\t", "\t").expandtabs(tab))


def line_present(line: str, texts: Iterable[str]) -> bool:
    """Whether ``line`` starts a line of some text with its indentation intact.

    The content after the indentation must match exactly, as written or JSON-escaped
    (``\\n`` before it); the indentation must be as wide as the original's, a tab
    counting as 4 or 8 columns (tabs turned into spaces keep the structure).
    """
    content = line.lstrip(" \t")
    indent = line[: len(line) - len(content)]
    escaped = json.dumps(content, ensure_ascii=False)[1:-1]
    pattern = re.compile(
        r"(?:^|\n|\\n)((?:[ \t]|\\t)*)(?:" + re.escape(content) + "|" + re.escape(escaped) + ")",
        re.MULTILINE,
    )
    for text in texts:
        for match in pattern.finditer(text):
            found = match.group(1)
            if any(_width(found, tab) == _width(indent, tab) for tab in _TAB_WIDTHS):
                return True
    return False


def measure(
    case: HeldoutCase, engine: str, raw: dict[str, Any], counter: RequestCounter
) -> CaseResult:
    """Figures for the runner's output ``raw`` on ``case``."""
    before = counter.total(case.messages, case.system)
    result = raw.get("result")
    errors = [str(e) for e in raw.get("errors", [])]
    labelled = [*case.needles, *(f"[indented line] {line!r}" for line in case.lines)]
    if result is None or not isinstance(result.get("messages"), list):
        return CaseResult(
            case.id, case.klass, case.position, case.phrasing, case.format, engine,
            len(labelled), before, before, labelled, ["engine produced no messages"], errors,
        )  # fmt: skip
    compressed = result["messages"]
    invalid = problems(case.messages, compressed, case.format)
    lost = list(recall(case.needles, compressed, case.system).lost)
    texts = haystack(compressed, case.system)
    lost += [f"[indented line] {line!r}" for line in case.lines if not line_present(line, texts)]
    ms = raw.get("first_seen_s")
    cpu = raw.get("first_seen_cpu_s")
    return CaseResult(
        case=case.id,
        klass=case.klass,
        position=case.position,
        phrasing=case.phrasing,
        format=case.format,
        engine=engine,
        needles=len(labelled),
        tokens_before=before,
        tokens_after=counter.total(compressed, case.system),
        lost=lost,
        invalid=invalid,
        errors=errors,
        first_seen_ms=None if ms is None else float(ms) * 1000,
        first_seen_cpu_ms=None if cpu is None else float(cpu) * 1000,
    )


def run_engine(
    engine: Engine,
    cases: Sequence[HeldoutCase],
    counter: RequestCounter,
    workdir: Path,
    timeout: float = 300.0,
) -> list[CaseResult]:
    """Each case through ``engine`` in a fresh process, one at a time (latency needs quiet)."""
    out: list[CaseResult] = []
    for case in cases:
        path = workdir / f"{case.id}.json"
        if not path.exists():
            path.write_text(json.dumps(case.to_json()), encoding="utf-8")
        started = time.perf_counter()
        raw = run_phase(engine, path, case.model, "single", [], 0, timeout)
        figures = measure(case, engine.name, raw, counter)
        out.append(figures)
        print(
            f"  [{engine.name}] {case.id:44} saved {figures.saving * 100:5.1f}%"
            f"  needles {figures.needles - len(figures.lost)}/{figures.needles}"
            f"  ({time.perf_counter() - started:.1f} s)",
            file=sys.stderr,
        )
    return out


# --------------------------------------------------------------------------- report


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _summary(rows: Sequence[CaseResult]) -> dict[str, Any]:
    needles = sum(r.needles for r in rows)
    kept = needles - sum(len(r.lost) for r in rows)
    before = sum(r.tokens_before for r in rows)
    after = sum(r.tokens_after for r in rows)
    times = [r.first_seen_ms for r in rows if r.first_seen_ms is not None]
    cpu = [r.first_seen_cpu_ms for r in rows if r.first_seen_cpu_ms is not None]
    return {
        "cases": len(rows),
        "needles": needles,
        "kept": kept,
        "recall": kept / needles if needles else 1.0,
        "lost_cases": sum(1 for r in rows if r.lost),
        "saving": 1 - after / before if before else 0.0,
        "tokens_before": before,
        "tokens_after": after,
        "median_ms": statistics.median(times) if times else None,
        "median_cpu_ms": statistics.median(cpu) if cpu else None,
        "invalid": sum(1 for r in rows if r.invalid),
        "errors": sum(1 for r in rows if r.errors),
    }


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"


def _table(
    title: str, groups: Sequence[str], key: str, results: dict[str, list[CaseResult]]
) -> list[str]:
    names = list(results)
    head = f"| {title} | cases | " + " | ".join(f"{n}: recall | lost cases | saving" for n in names)
    lines = [head + " |", "|" + "---|" * (2 + 3 * len(names))]
    for group in [*groups, _OVERALL]:
        cells: list[str] = []
        count = 0
        for name in names:
            rows = [r for r in results[name] if group == _OVERALL or getattr(r, key) == group]
            if not rows:
                continue
            s = _summary(rows)
            count = s["cases"]
            cells += [f"{_pct(s['recall'])} ({s['kept']}/{s['needles']})", str(s["lost_cases"]),
                      _pct(s["saving"])]  # fmt: skip
        if cells:
            label = f"**{group}**" if group == _OVERALL else group
            lines.append(f"| {label} | {count} | " + " | ".join(cells) + " |")
    return lines


def report(header: Sequence[str], results: dict[str, list[CaseResult]]) -> str:
    """The printed report: per class, per position and per phrasing, then the lost cases."""
    lines = list(header)
    lines.append("")
    classes = sorted({r.klass for rows in results.values() for r in rows})
    lines += _table("class", classes, "klass", results)
    lines.append("")
    lines += _table("question position", list(POSITIONS), "position", results)
    lines.append("")
    phrasings = sorted({r.phrasing for rows in results.values() for r in rows})
    lines += _table("phrasing", phrasings, "phrasing", results)
    lines.append("")
    lines.append(
        "| engine | token-weighted saving | median first-seen (CPU) | invalid requests | errors |"
    )
    lines.append("|---|---|---|---|---|")
    for name, rows in results.items():
        s = _summary(rows)
        lines.append(
            f"| {name} | {_pct(s['saving'])} ({s['tokens_before']} -> {s['tokens_after']} tokens)"
            f" | {_ms(s['median_ms'])} ({_ms(s['median_cpu_ms'])}) | {s['invalid']} | {s['errors']} |"
        )
    for name, rows in results.items():
        lost = [r for r in rows if r.lost or r.invalid or r.errors]
        lines.append("")
        lines.append(f"{name}: {sum(1 for r in rows if r.lost)} case(s) lost a needle")
        for r in lost:
            detail = "; ".join(r.lost)
            if r.invalid:
                detail += f" INVALID: {'; '.join(r.invalid)}"
            if r.errors:
                detail += f" ERROR: {r.errors[0].splitlines()[-1] if r.errors[0] else ''}"
            lines.append(f"  {r.case}: {detail}")
    return "\n".join(lines)


def _ours(root: Path | None) -> Engine:
    """This checkout's engine, or the ``headroom/`` package of another tree (``--engine-root``)."""
    engine = ours()
    if root is None:
        return engine
    if not (root / "headroom" / "__init__.py").is_file():
        raise SystemExit(f"--engine-root {root}: no headroom/__init__.py there")
    env = dict(engine.env)
    env["PYTHONPATH"] = str(root)
    return Engine(engine.name, engine.python, False, root, env)


def _revision(root: Path) -> str:
    if not (root / ".git").exists():
        return f"tree {root} (not a git checkout)"
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "headroom"],
            cwd=root, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown revision"
    return f"commit {head}" + (" + uncommitted changes in headroom/" if dirty else "")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=13, help="generator seed (default 13)")
    parser.add_argument(
        "--cases-per-class", type=int, default=9, help="cases generated per class (default 9)"
    )
    parser.add_argument(
        "--class",
        dest="classes",
        action="append",
        choices=sorted(CLASSES),
        help="only this class (repeatable)",
    )
    parser.add_argument(
        "--peer", action="store_true", help=f"also run {PEER_PACKAGE}=={PEER_VERSION}"
    )
    parser.add_argument(
        "--peer-python", help="interpreter of a venv holding the peer (implies --peer)"
    )
    parser.add_argument(
        "--peer-venv",
        default=str(REPO_ROOT / "bench" / ".peer"),
        help="where --peer creates its venv when --peer-python is not given",
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds per case and engine (default 300)"
    )
    parser.add_argument(
        "--engine-root",
        help="measure the headroom/ package of this tree instead of this checkout's"
        " (e.g. an extracted `git archive main`)",
    )
    parser.add_argument("--json", dest="json_path", help="also save every figure as JSON here")
    parser.add_argument("--save-cases", help="write the generated cases as JSON files here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    cases = generate(args.seed, args.cases_per_class, args.classes)
    from headroom.core.tokens import counter_for_model

    counter = RequestCounter(counter_for_model("gpt-4o"))
    began = time.perf_counter()
    results: dict[str, list[CaseResult]] = {}
    with tempfile.TemporaryDirectory(prefix="headroom-heldout-") as tmp:
        workdir = Path(args.save_cases) if args.save_cases else Path(tmp) / "cases"
        workdir.mkdir(parents=True, exist_ok=True)
        root = Path(args.engine_root).resolve() if args.engine_root else None
        engines = [_ours(root)]
        if args.peer or args.peer_python:
            python = args.peer_python or str(ensure_peer_venv(Path(args.peer_venv)))
            engines.append(peer(python, Path(tmp)))
        for engine in engines:
            print(f"running {engine.name} on {len(cases)} cases ({engine.python})", file=sys.stderr)
            results[engine.name] = run_engine(engine, cases, counter, workdir, args.timeout)
    now = datetime.now(timezone.utc)
    command = "python bench/heldout.py" + (
        " " + " ".join(sys.argv[1:]) if argv is None and sys.argv[1:] else ""
    )
    header = [
        f"Held-out generator, {now:%Y-%m-%d %H:%M} UTC: {command}",
        f"engine: {_revision(root or REPO_ROOT)}; seed {args.seed}, {args.cases_per_class} cases per class,"
        f" {len(cases)} cases; Python {platform.python_version()}",
        "recall: needles kept / needles (an indented line counts as a needle that must keep its"
        " leading whitespace); saving: token-weighted over whole requests (o200k_base);"
        " latency: first call on the case in a fresh process after a warm-up call"
        f" (wall clock); wall time {time.perf_counter() - began:.0f} s",
    ]
    print(report(header, results))
    if args.json_path:
        path = Path(args.json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "date": now.isoformat(timespec="seconds"),
            "command": command,
            "seed": args.seed,
            "cases_per_class": args.cases_per_class,
            "results": {n: [asdict(r) for r in rows] for n, rows in results.items()},
        }
        path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
