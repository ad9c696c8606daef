"""Figures for agno runs: the keys each route adds to a run, totals, offline token counts.

Agno sums `RunOutput.metrics.additional_metrics` into the session's metrics, so
each Headroom route writes keys of its own there and none overwrites another's.
Agno calls `count_tokens` from its compression and compaction checks; Headroom
counts offline, adding what the core's message counts do not see (media, tool
definitions, the output schema).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from agno.models.message import Message
from agno.tools.function import Function
from pydantic import BaseModel

from headroom.core import CompressionResult, TokenCounter
from headroom.core.counters import Counters
from headroom.core.tokens import count_message_tokens
from headroom.integrations.agno.converters import to_core

__all__ = [
    "INPUT_METRIC_KEY",
    "MANAGER_METRIC_KEYS",
    "RUN_METRIC_KEYS",
    "add_metrics",
    "count_request",
    "extra_tokens",
    "input_savings",
    "message_tokens",
    "new_totals",
]

#: Keys the model wrapper adds to `RunOutput.metrics.additional_metrics`.
RUN_METRIC_KEYS = (
    "headroom_requests",
    "headroom_tokens_before",
    "headroom_tokens_after",
    "headroom_tokens_saved",
)
#: The same figures in the wrapper's running totals (`model.stats`).
_TOTAL_KEYS = tuple(key.removeprefix("headroom_") for key in RUN_METRIC_KEYS)
#: Keys `HeadroomCompressionManager` adds (tool results compressed, tokens saved on them).
MANAGER_METRIC_KEYS = ("headroom_tool_results_compressed", "headroom_tool_results_tokens_saved")
#: Key for what `headroom_input_hook` saved on the run's input (the output hook adds it,
#: taking it from `input_savings`: agno gives a pre-hook no `RunOutput`).
INPUT_METRIC_KEY = "headroom_input_tokens_saved"

#: Media attached to a message is sent as-is; counted at a flat typical cost.
_MEDIA_TOKENS = 765
#: Runs whose input savings wait for an output hook; older ones are dropped past this.
_PENDING_RUNS = 1024


def add_metrics(run_metrics: Any, values: dict[str, int]) -> None:
    """Add `values` to a run's `additional_metrics` (agno's `RunMetrics`; None is ignored)."""
    if run_metrics is None:
        return
    extra = run_metrics.additional_metrics
    if extra is None:
        extra = run_metrics.additional_metrics = {}
    for key, value in values.items():
        extra[key] = int(extra.get(key, 0)) + value


def new_totals() -> Counters:
    """The wrapper's running totals: `model.stats` reads them."""
    return Counters(*_TOTAL_KEYS)


def count_request(totals: Counters, result: CompressionResult, run_response: Any) -> None:
    """Count one request in the wrapper's totals and in its run's metrics."""
    values = (1, result.tokens_before, result.tokens_after, result.tokens_saved)
    totals.add(dict(zip(_TOTAL_KEYS, values, strict=True)))
    add_metrics(
        getattr(run_response, "metrics", None), dict(zip(RUN_METRIC_KEYS, values, strict=True))
    )


class _InputSavings:
    """Tokens the input hook saved, by run id, until the output hook of that run takes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: OrderedDict[str, int] = OrderedDict()

    def add(self, run_id: str, saved: int) -> None:
        with self._lock:
            self._runs[run_id] = self._runs.get(run_id, 0) + saved
            while len(self._runs) > _PENDING_RUNS:
                self._runs.popitem(last=False)

    def pop(self, run_id: str | None) -> int:
        with self._lock:
            return self._runs.pop(run_id, 0) if run_id is not None else 0


input_savings = _InputSavings()


def message_tokens(messages: Sequence[Message], count: TokenCounter) -> int:
    """Tokens of `messages` as agno would send them (`compressed_content` where set)."""
    return sum(
        count_message_tokens(m, count) for m in to_core(messages, use_compressed_content=True)
    )


def _schema_text(schema: Any) -> str:
    if schema is None:
        return ""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return json.dumps(schema.model_json_schema())
    try:
        return json.dumps(schema, default=str)
    except (TypeError, ValueError):
        return str(schema)


def _tools_text(tools: Sequence[Any] | None) -> str:
    if not tools:
        return ""
    return json.dumps([t.to_dict() if isinstance(t, Function) else t for t in tools], default=str)


def _media_count(message: Message) -> int:
    return sum(
        len(items or ()) for items in (message.images, message.audio, message.videos, message.files)
    )


def extra_tokens(
    messages: Sequence[Message], tools: Sequence[Any] | None, schema: Any, count: TokenCounter
) -> int:
    """Tokens of the media attached to `messages`, of `tools` and of the output `schema`."""
    media = _MEDIA_TOKENS * sum(_media_count(m) for m in messages)
    return media + count(_tools_text(tools)) + count(_schema_text(schema))
