"""Aggregating case figures per category and engine, and printing the report."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench.cache_sim import PRICINGS
from bench.evaluate import CaseFigures

__all__ = ["Summary", "format_report", "summarize", "target_checks"]

OVERALL = "overall"
_PRIMARY = PRICINGS[0].name


@dataclass
class Summary:
    """One engine over a set of cases."""

    engine: str
    category: str
    cases: int
    tokens_before: int
    tokens_after: int
    saving_weighted: float
    saving_median: float
    needles: int
    needles_kept: int
    cases_losing_needles: int
    invalid_requests: int
    invalid_replay_requests: int
    replay_requests: int
    first_seen_ms_median: float | None
    first_seen_cpu_ms_median: float | None
    repeated_ms_median: float | None
    import_ms_median: float | None
    import_cpu_ms_median: float | None
    first_call_ms_median: float | None
    cache_cost_ratio: dict[str, float]
    cache_hit_rate: float
    prefix_breaks: int

    @property
    def recall(self) -> float:
        return self.needles_kept / self.needles if self.needles else 1.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["recall"] = self.recall
        return data


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(engine: str, category: str, figures: Sequence[CaseFigures]) -> Summary:
    """Token-weighted and median figures of ``figures`` (one engine's cases)."""
    before = sum(f.tokens_before for f in figures)
    after = sum(f.tokens_after for f in figures)
    replay = sum(f.replay_tokens for f in figures)
    return Summary(
        engine=engine,
        category=category,
        cases=len(figures),
        tokens_before=before,
        tokens_after=after,
        saving_weighted=1 - after / before if before else 0.0,
        saving_median=statistics.median(f.saving for f in figures) if figures else 0.0,
        needles=sum(f.needles for f in figures),
        needles_kept=sum(f.kept for f in figures),
        cases_losing_needles=sum(1 for f in figures if f.lost_needles),
        invalid_requests=sum(1 for f in figures if f.invalid),
        invalid_replay_requests=sum(f.invalid_replay_requests for f in figures),
        replay_requests=sum(f.replay_requests for f in figures),
        first_seen_ms_median=_median(f.first_seen_ms for f in figures),
        first_seen_cpu_ms_median=_median(f.first_seen_cpu_ms for f in figures),
        repeated_ms_median=_median(f.repeated_ms for f in figures),
        import_ms_median=_median(f.import_ms for f in figures),
        import_cpu_ms_median=_median(f.import_cpu_ms for f in figures),
        first_call_ms_median=_median(f.first_call_ms for f in figures),
        cache_cost_ratio={
            p.name: (
                sum(f.cache_cost[p.name] for f in figures)
                / sum(f.cache_cost_uncompressed[p.name] for f in figures)
            )
            if figures
            else 0.0
            for p in PRICINGS
        },
        cache_hit_rate=sum(f.cached_tokens for f in figures) / replay if replay else 0.0,
        prefix_breaks=sum(len(f.prefix_breaks) for f in figures),
    )


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f} ms" if value < 10 else f"{value:.0f} ms"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 2) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            str(c).ljust(w) if i < left else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _summary_rows(summaries: Sequence[Summary]) -> list[list[str]]:
    rows = []
    previous = None
    for s in summaries:
        rows.append(
            [
                s.category if s.category != previous else "",
                s.engine,
                str(s.cases),
                f"{s.tokens_before:,}",
                f"{s.tokens_after:,}",
                _pct(s.saving_weighted),
                _pct(s.saving_median),
                f"{s.needles_kept}/{s.needles} {_pct(s.recall)}",
                str(s.cases_losing_needles),
                f"{s.invalid_requests} / {s.invalid_replay_requests}",
                _ms(s.first_seen_ms_median),
                _ms(s.first_seen_cpu_ms_median),
                _ms(s.repeated_ms_median),
                " / ".join(f"{s.cache_cost_ratio[p.name]:.2f}x" for p in PRICINGS),
                _pct(s.cache_hit_rate),
                str(s.prefix_breaks),
            ]
        )
        previous = s.category
    return rows


def target_checks(ours: Summary, peer: Summary | None) -> list[tuple[str, str, bool | None]]:
    """Issue 2's targets: (target, our figure, met?)."""
    checks: list[tuple[str, str, bool | None]] = [
        ("needle recall 100%", _pct(ours.recall), ours.needles_kept == ours.needles),
        (
            "0 invalid requests (final / replay)",
            f"{ours.invalid_requests} / {ours.invalid_replay_requests}",
            ours.invalid_requests == 0 and ours.invalid_replay_requests == 0,
        ),
        ("token-weighted saving >= 45%", _pct(ours.saving_weighted), ours.saving_weighted >= 0.45),
        (
            "token-weighted saving >= 60% (goal)",
            _pct(ours.saving_weighted),
            ours.saving_weighted >= 0.60,
        ),
    ]
    for label, mine, theirs in (
        ("wall", ours.first_seen_ms_median, peer.first_seen_ms_median if peer else None),
        ("CPU", ours.first_seen_cpu_ms_median, peer.first_seen_cpu_ms_median if peer else None),
    ):
        if theirs and mine is not None:
            half = theirs / 2
            checks.append(
                (
                    f"median first-seen ({label}) <= half of headroom-ai's ({_ms(half)})",
                    _ms(mine),
                    mine <= half,
                )
            )
        else:
            checks.append(
                (f"median first-seen ({label}) <= half of headroom-ai's", _ms(mine), None)
            )
    repeated = ours.repeated_ms_median
    checks.append(
        ("repeated content <= 1 ms (median)", _ms(repeated), repeated is not None and repeated <= 1)
    )
    imp = ours.import_ms_median
    checks.append(
        (
            "import <= 100 ms (median, wall)",
            f"{_ms(imp)} (CPU {_ms(ours.import_cpu_ms_median)})",
            imp is not None and imp <= 100,
        )
    )
    cost = ours.cache_cost_ratio[_PRIMARY]
    checks.append((f"cache cost <= 0.5x uncompressed ({_PRIMARY})", f"{cost:.2f}x", cost <= 0.5))
    return checks


def format_report(
    header: Sequence[str],
    summaries: Sequence[Summary],
    figures: dict[str, list[CaseFigures]],
    engines: Sequence[str],
) -> str:
    """The whole plain-text report."""
    out: list[str] = [*header, ""]
    pricing_names = " / ".join(p.name for p in PRICINGS)
    out.append("== By category ==")
    out.extend(
        _table(
            [
                "category",
                "engine",
                "cases",
                "tokens before",
                "after",
                "saved (tw)",
                "saved (median)",
                "needles kept",
                "cases losing",
                "invalid (final / replay)",
                "first-seen (median)",
                "first-seen CPU",
                "repeated (median)",
                f"cache cost ({pricing_names})",
                "cache hit",
                "prefix breaks",
            ],
            _summary_rows(summaries),
        )
    )

    out += ["", "== Startup (median over the per-case processes) =="]
    overall = {s.engine: s for s in summaries if s.category == OVERALL}
    out.extend(
        _table(
            [
                "engine",
                "import headroom (wall)",
                "import (CPU)",
                "first call (tokenizer load, lazy imports)",
            ],
            [
                [
                    e,
                    _ms(overall[e].import_ms_median),
                    _ms(overall[e].import_cpu_ms_median),
                    _ms(overall[e].first_call_ms_median),
                ]
                for e in engines
            ],
            left=1,
        )
    )

    out += ["", "== Per case (saved: whole request; first-seen: fresh process, warm tokenizer) =="]
    cases = figures[engines[0]]
    header_row = ["case", "category", "tokens"]
    for e in engines:
        header_row += [f"{e}: saved", "needles", "first-seen", "repeated", "cache cost"]
    rows = []
    for index, f in enumerate(cases):
        row = [f.case, f.category, f"{f.tokens_before:,}"]
        for e in engines:
            g = figures[e][index]
            row += [
                _pct(g.saving),
                f"{g.kept}/{g.needles}",
                _ms(g.first_seen_ms),
                _ms(g.repeated_ms),
                f"{g.cache_cost[_PRIMARY] / g.cache_cost_uncompressed[_PRIMARY]:.2f}x",
            ]
        rows.append(row)
    out.extend(_table(header_row, rows))

    out += ["", "== Lost needles =="]
    lost = [(e, f) for e in engines for f in figures[e] if f.lost_needles]
    if not lost and not any(f.lost_needles_replay for e in engines for f in figures[e]):
        out.append("none")
    for e, f in lost:
        for needle in f.lost_needles:
            out.append(f"{e}  {f.case}: {needle!r}")

    for e in engines:
        for f in figures[e]:
            for needle in f.lost_needles_replay:
                if needle not in f.lost_needles:
                    out.append(
                        f"{e}  {f.case}: {needle!r} (only in the agent-loop replay's last request)"
                    )

    out += ["", "== Invalid requests, errors and contract breaks =="]
    issues = []
    for e in engines:
        for f in figures[e]:
            for problem in f.invalid:
                issues.append(f"{e}  {f.case}: invalid: {problem}")
            if f.invalid_replay_requests:
                issues.append(
                    f"{e}  {f.case}: {f.invalid_replay_requests} invalid replay request(s)"
                )
            for error in f.errors:
                issues.append(f"{e}  {f.case}: error: {error.strip().splitlines()[-1]}")
            if f.input_mutated:
                issues.append(f"{e}  {f.case}: the input messages were mutated")
            if f.repeat_identical is False:
                issues.append(f"{e}  {f.case}: repeated calls gave different bytes")
            if f.replay_matches_single is False:
                issues.append(
                    f"{e}  {f.case}: the agent loop's last request differs from compressing the"
                    " whole conversation in one call"
                )
    out.extend(issues or ["none"])

    out += [
        "",
        "== Prefix instability (compressed request t does not start with request t-1) ==",
    ]
    breaks = []
    for e in engines:
        for f in figures[e]:
            for b in f.prefix_breaks:
                where = (
                    "system prompt"
                    if b["message_index"] is None
                    else f"message {b['message_index']} ({b['role']})"
                )
                breaks.append(
                    f"{e}  {f.case}: request {b['request'] + 1} (ends at message {b['prefix_end']}) "
                    f"first differs at {where}; {b['rebilled_tokens']:,} history tokens re-billed"
                )
    out.extend(breaks or ["none"])

    out += ["", "== Targets (issue 2) for headroom =="]
    ours = overall[engines[0]]
    peer = overall[engines[1]] if len(engines) > 1 else None
    for target, figure, met in target_checks(ours, peer):
        verdict = "n/a" if met is None else ("met" if met else "NOT MET")
        out.append(f"{verdict:8} {target}: {figure}")
    return "\n".join(out) + "\n"
