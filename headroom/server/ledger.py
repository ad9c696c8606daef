"""What each proxied request cost and saved: spend caps, the request log, cost in /stats.

One `Ledger` per app. Every finished proxy request becomes a `RequestRecord`;
the ledger adds it to per-model and per-tenant totals, a short list of recent
requests and a per-minute timeline (what `/dashboard` draws), and appends one
JSON line to ``--log-file``. Prices come from LiteLLM's bundled cost map
(`headroom.pricing`), offline; a model without a known price costs ``None``,
never a guess.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from headroom.pricing import cost_usd

__all__ = ["BudgetExceeded", "Ledger", "RequestRecord"]

logger = logging.getLogger("headroom.server")

#: Recent requests kept for the dashboard: a screenful.
RECENT_REQUESTS = 50
#: Minutes of per-minute history kept for the savings-over-time chart (two hours).
TIMELINE_MINUTES = 120


class BudgetExceeded(Exception):
    """A request would take spend past the configured cap."""

    def __init__(self, spent: float, estimate: float, budget: float) -> None:
        super().__init__(
            f"spend cap reached: ${spent:.4f} spent of a ${budget:.2f} budget; this request "
            f"would cost about ${estimate:.4f} more (raise --budget or restart the proxy)"
        )


@dataclass(frozen=True)
class RequestRecord:
    """One proxied request, as the log file and the dashboard show it."""

    time: float
    tenant: str
    route: str
    model: str | None
    status: int
    tokens_before: int
    tokens_after: int
    output_tokens: int
    latency_ms: float
    retrievals: int = 0
    cached: bool = False
    bypassed: bool = False
    cost_usd: float | None = None
    savings_usd: float | None = None

    @property
    def tokens_saved(self) -> int:
        return max(0, self.tokens_before - self.tokens_after)

    def as_log(self) -> dict[str, Any]:
        line = asdict(self)
        line["tokens_saved"] = self.tokens_saved
        return line


@dataclass
class _Totals:
    requests: int = 0
    failed: int = 0
    cached: int = 0
    bypassed: int = 0
    tokens_before: int = 0
    tokens_after: int = 0
    output_tokens: int = 0
    retrievals: int = 0
    cost_usd: float = 0.0
    savings_usd: float = 0.0
    unpriced: int = 0

    def add(self, r: RequestRecord) -> None:
        self.requests += 1
        self.failed += int(r.status >= 400)
        self.cached += int(r.cached)
        self.bypassed += int(r.bypassed)
        self.tokens_before += r.tokens_before
        self.tokens_after += r.tokens_after
        self.output_tokens += r.output_tokens
        self.retrievals += r.retrievals
        if r.cost_usd is None:
            self.unpriced += int(not r.cached)
        else:
            self.cost_usd += r.cost_usd
        self.savings_usd += r.savings_usd or 0.0

    def view(self) -> dict[str, Any]:
        saved = max(0, self.tokens_before - self.tokens_after)
        return {
            "requests": self.requests,
            "failed": self.failed,
            "cached": self.cached,
            "bypassed": self.bypassed,
            "tokens_before": self.tokens_before,
            "tokens_after": self.tokens_after,
            "tokens_saved": saved,
            "savings_percent": round(100 * saved / self.tokens_before, 2)
            if self.tokens_before
            else 0.0,
            "output_tokens": self.output_tokens,
            "retrievals": self.retrievals,
            "total_cost_usd": round(self.cost_usd, 6),
            "total_savings_usd": round(self.savings_usd, 6),
            "unpriced_requests": self.unpriced,
        }


@dataclass
class _TenantBook:
    totals: _Totals = field(default_factory=_Totals)
    models: dict[str, _Totals] = field(default_factory=dict)
    recent: deque[RequestRecord] = field(default_factory=lambda: deque(maxlen=RECENT_REQUESTS))
    timeline: dict[int, list[int]] = field(default_factory=dict)  # minute -> [before, after, n]

    def add(self, r: RequestRecord) -> None:
        self.totals.add(r)
        self.models.setdefault(r.model or "unknown", _Totals()).add(r)
        self.recent.append(r)
        minute = int(r.time // 60)
        bucket = self.timeline.setdefault(minute, [0, 0, 0])
        bucket[0] += r.tokens_before
        bucket[1] += r.tokens_after
        bucket[2] += 1
        for old in [m for m in self.timeline if m <= minute - TIMELINE_MINUTES]:
            del self.timeline[old]


class Ledger:
    """Spend, savings and the request log of one app; thread-safe."""

    def __init__(
        self,
        *,
        budget_usd: float | None = None,
        log_file: str | None = None,
        log_content: bool = False,
    ) -> None:
        self.budget_usd = budget_usd
        self.log_content = log_content
        self._lock = threading.Lock()
        self._all = _TenantBook()
        self._tenants: dict[str, _TenantBook] = {}
        self._log = open(log_file, "a", encoding="utf-8") if log_file else None  # noqa: SIM115
        if log_file:
            os.chmod(log_file, 0o600)  # request logs name models and tenants

    def close(self) -> None:
        with self._lock:
            if self._log is not None:
                self._log.close()
                self._log = None

    def check_budget(self, tenant: str, model: str | None, input_tokens: int) -> None:
        """Raise `BudgetExceeded` when this request would pass the tenant's cap.

        The estimate counts the input only (the output is not known yet), so the
        cap can be passed by at most one request's output.
        """
        if self.budget_usd is None:
            return
        estimate = cost_usd(model or "", input_tokens) or 0.0
        with self._lock:
            book = self._tenants.get(tenant)
            spent = book.totals.cost_usd if book else 0.0
        if spent + estimate > self.budget_usd or spent >= self.budget_usd:
            raise BudgetExceeded(spent, estimate, self.budget_usd)

    def price(self, record: RequestRecord) -> RequestRecord:
        """`record` with its cost and savings filled in from the price table."""
        if record.cached or not record.model:
            return record
        cost = cost_usd(record.model, record.tokens_after, record.output_tokens)
        saved = cost_usd(record.model, record.tokens_saved)
        return RequestRecord(**{**asdict(record), "cost_usd": cost, "savings_usd": saved})

    def record(self, record: RequestRecord, content: Any = None) -> RequestRecord:
        """Price `record`, add it to the totals and write its log line."""
        record = self.price(record)
        with self._lock:
            self._all.add(record)
            self._tenants.setdefault(record.tenant, _TenantBook()).add(record)
            if self._log is not None:
                line = record.as_log()
                if self.log_content and content is not None:
                    line["messages"] = content
                try:
                    self._log.write(json.dumps(line, default=str, ensure_ascii=False) + "\n")
                    self._log.flush()
                except (OSError, ValueError) as exc:
                    logger.warning("headroom: cannot write the request log: %s", exc)
        return record

    def snapshot(self, tenant: str | None = None) -> dict[str, Any]:
        """Cost, per-model figures, recent requests and the timeline; one tenant or all."""
        with self._lock:
            book = self._all if tenant is None else self._tenants.get(tenant, _TenantBook())
            spent = book.totals.cost_usd
            return {
                "totals": book.totals.view(),
                "models": {name: t.view() for name, t in sorted(book.models.items())},
                "recent": [r.as_log() for r in reversed(book.recent)],
                "timeline": [
                    {
                        "minute": m * 60,
                        "tokens_before": b[0],
                        "tokens_after": b[1],
                        "requests": b[2],
                    }
                    for m, b in sorted(book.timeline.items())
                ],
                "budget": None
                if self.budget_usd is None
                else {
                    "budget_usd": self.budget_usd,
                    "spent_usd": round(spent, 6),
                    "remaining_usd": round(max(0.0, self.budget_usd - spent), 6),
                },
            }
