"""The request pipeline of `HeadroomClient`: compress, plan, and count.

Shared by the sync and async endpoints: `prepare` turns a caller's keyword
arguments into what the SDK is sent, `plan` answers `simulate`, and `record`
adds a finished request to the session totals and the metrics store.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from headroom.client.metrics import MetricsStore, RequestMetrics
from headroom.client.modes import Mode, RequestOptions, resolve_options, split_overrides
from headroom.client.providers import Provider
from headroom.client.retrieval import RetrieveLoop
from headroom.core.compress import compress
from headroom.core.config import CompressConfig
from headroom.core.hooks import CompressionHooks
from headroom.core.result import CompressionResult
from headroom.core.store import CCRStore
from headroom.core.tokens import count_message_tokens
from headroom.pricing import input_price

__all__ = ["Pipeline", "Prepared", "SessionTotals", "SimulationPlan"]

logger = logging.getLogger("headroom")


@dataclass(frozen=True)
class SimulationPlan:
    """What a request would do, computed without calling the API.

    Attributes:
        model: The model of the request.
        mode: The mode the request would run in.
        tokens_before: Input tokens of the messages as given.
        tokens_after: Input tokens after compression.
        tokens_saved: ``tokens_before - tokens_after``.
        transforms: The transforms that would run.
        estimated_savings: `tokens_saved` in USD at the model's input price
            (LiteLLM's bundled cost map), or None.
        estimated_savings_reason: Why `estimated_savings` is None (else empty).
        messages: The messages optimize mode would send.
        ccr_hashes: Hashes under which compressed originals are retrievable.
    """

    model: str
    mode: str
    tokens_before: int
    tokens_after: int
    tokens_saved: int
    transforms: list[str]
    estimated_savings: float | None
    estimated_savings_reason: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list, repr=False)
    ccr_hashes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready values."""
        return dict(self.__dict__)


@dataclass
class Prepared:
    """One request after Headroom looked at it."""

    model: str
    options: RequestOptions
    body: dict[str, Any]
    result: CompressionResult | None
    offered: bool


@dataclass
class SessionTotals:
    """This client's counters since it was created (``get_stats()["session"]``)."""

    requests_total: int = 0
    requests_optimized: int = 0
    requests_audited: int = 0
    requests_streamed: int = 0
    tokens_input_before_total: int = 0
    tokens_input_after_total: int = 0
    tokens_saved_total: int = 0
    savings_usd_total: float = 0.0
    retrieve_calls_answered: int = 0
    compression_failures: int = 0
    metrics_write_failures: int = 0
    simulations: int = 0


def _dump(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json", exclude_none=True) if callable(dump) else value


def _plain_message(message: Any) -> Any:
    message = _dump(message)
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list) and any(hasattr(b, "model_dump") for b in content):
        # e.g. {"role": "assistant", "content": previous_response.content}
        return {**message, "content": [_dump(b) for b in content]}
    return message


def _plain(messages: Any) -> Any:
    """SDK objects in the history (a previous response's message or content blocks) as
    dicts, so the core can read them; plain dicts are returned as they are."""
    if not isinstance(messages, list):
        return messages
    return [_plain_message(m) for m in messages]


class Pipeline:
    """The state and steps every endpoint of one `HeadroomClient` shares."""

    def __init__(
        self,
        provider: Provider,
        mode: Mode,
        config: CompressConfig,
        hooks: CompressionHooks | None,
        limits: dict[str, int],
        metrics: MetricsStore,
        ccr_store: CCRStore | None,
        ccr_retrieve: bool,
    ) -> None:
        self.provider = provider
        self.mode = mode
        self.config = config
        self.hooks = hooks
        self.limits = limits
        self.metrics = metrics
        self.ccr_store = ccr_store
        self.ccr_retrieve = ccr_retrieve
        self.session = SessionTotals()
        self.lock = threading.Lock()

    # -- compression ---------------------------------------------------------------

    def compress(
        self, messages: Any, model: str, config: CompressConfig
    ) -> CompressionResult | None:
        """`compress()` failing open: None when the messages cannot be compressed."""
        try:
            result = compress(
                _plain(messages),
                model,
                model_limit=self.provider.context_limit(model, self.limits),
                config=config,
                hooks=self.hooks,
                store=self.ccr_store,
                token_counter=self.provider.token_counter,
            )
        except Exception:
            logger.warning(
                "headroom: cannot compress this request; sending it as is", exc_info=True
            )
            with self.lock:
                self.session.compression_failures += 1
            return None
        if any(t.startswith("fail_open:") for t in result.transforms_applied):
            with self.lock:
                self.session.compression_failures += 1
        return result

    def _start(
        self, kwargs: Mapping[str, Any]
    ) -> tuple[RequestOptions, dict[str, Any], str, CompressionResult | None]:
        overrides, sdk_kwargs = split_overrides(kwargs)
        options = resolve_options(self.mode, self.config, overrides)
        model = str(sdk_kwargs.get("model") or "")
        return (
            options,
            sdk_kwargs,
            model,
            self.compress(sdk_kwargs.get("messages"), model, options.config),
        )

    def prepare(self, kwargs: Mapping[str, Any], offer_retrieve: bool = True) -> Prepared:
        """What to send for a `create` call with `kwargs` (overrides taken out).

        `offer_retrieve` False never adds the retrieve tool (``parse`` accepts
        only strict tools, and its caller parses the answer itself).
        """
        options, sdk_kwargs, model, result = self._start(kwargs)
        body, offered = sdk_kwargs, False
        if (
            options.mode == "optimize"
            and result is not None
            and result.messages != _plain(sdk_kwargs.get("messages"))
        ):
            body = {**sdk_kwargs, "messages": result.messages}
            if (
                offer_retrieve
                and self.ccr_retrieve
                and result.ccr_hashes
                and self.provider.adapter.can_offer(body)  # not over the caller's own tool
            ):
                body = self.provider.adapter.add_tool(body)
                offered = True
        return Prepared(model, options, body, result, offered)

    def plan(self, kwargs: Mapping[str, Any]) -> SimulationPlan:
        """The `simulate` answer for `kwargs`; sends nothing and records nothing."""
        options, sdk_kwargs, model, result = self._start(kwargs)
        messages = sdk_kwargs.get("messages")
        with self.lock:
            self.session.simulations += 1
        if result is None:
            before = self._count(messages, model)
            result = CompressionResult(
                messages=_plain(messages) if isinstance(messages, list) else [],
                tokens_before=before,
                tokens_after=before,
            )
        quote = input_price(model, self.provider.name)
        return SimulationPlan(
            model=model,
            mode=options.mode,
            tokens_before=result.tokens_before,
            tokens_after=result.tokens_after,
            tokens_saved=result.tokens_saved,
            transforms=list(result.transforms_applied),
            estimated_savings=quote.cost(result.tokens_saved),
            estimated_savings_reason=quote.reason,
            messages=list(result.messages),
            ccr_hashes=list(result.ccr_hashes),
        )

    def _count(self, messages: Any, model: str) -> int:
        try:
            count = self.provider.counter(model)
            return sum(count_message_tokens(m, count) for m in _plain(messages))
        except Exception:
            return 0

    # -- metrics -------------------------------------------------------------------

    def record(self, prepared: Prepared, stream: bool, retrieve_calls: int) -> None:
        """Count the request in the session and the metrics store; never raises."""
        result = prepared.result
        if result is None:
            before = after = self._count(prepared.body.get("messages"), prepared.model)
            transforms: list[str] = ["fail_open"]
        else:
            before, after = result.tokens_before, result.tokens_after
            transforms = list(result.transforms_applied)
        saved = max(0, before - after)
        usd = input_price(prepared.model, self.provider.name).cost(saved)
        mode = prepared.options.mode
        with self.lock:
            s = self.session
            s.requests_total += 1
            s.requests_optimized += mode == "optimize"
            s.requests_audited += mode == "audit"
            s.requests_streamed += stream
            s.tokens_input_before_total += before
            s.tokens_input_after_total += after
            s.tokens_saved_total += saved
            s.savings_usd_total += usd or 0.0
            s.retrieve_calls_answered += retrieve_calls
        metrics = RequestMetrics(
            request_id=uuid.uuid4().hex,
            timestamp=datetime.now(timezone.utc),
            provider=self.provider.name,
            model=prepared.model,
            mode=mode,
            stream=stream,
            tokens_input_before=before,
            tokens_input_after=after,
            tokens_saved=saved,
            savings_usd=usd,
            transforms=transforms,
            retrieve_calls=retrieve_calls,
        )
        try:
            self.metrics.record(metrics)
        except Exception:
            with self.lock:
                self.session.metrics_write_failures += 1
                first = self.session.metrics_write_failures == 1
            # Once as a warning with the cause; a broken store would otherwise log every call.
            log = logger.warning if first else logger.debug
            log("headroom: metrics not persisted (the request went through)", exc_info=first)

    def loop(self, prepared: Prepared) -> RetrieveLoop:
        return RetrieveLoop(
            self.provider.adapter,
            self.ccr_store,
            prepared.offered,
            drop=self.provider.hide_retrieve_calls,
        )
