"""The names and meanings of the options every integration shares.

One knob, one name, one meaning, in every adapter (the table in
docs/options.md lists them). Adapters import their types and defaults from
here instead of redefining them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

from headroom.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_MAX_RETRIEVE_ROUNDS",
    "STATS_KEYS",
    "RetrieveTool",
    "retrieve_tool_mode",
    "stats_record",
]

#: When the model is offered `headroom_retrieve`: ``"auto"`` (when a request
#: carries a marker and the adapter's own condition holds, e.g. tools are bound),
#: ``"always"``, or ``"never"`` (markers then name no call).
RetrieveTool = Literal["auto", "always", "never"]

#: `max_retrieve_rounds`: answered retrieval rounds per call before the tool is withdrawn.
DEFAULT_MAX_RETRIEVE_ROUNDS = 3

#: The per-call stats record every adapter reports (`response_metadata["headroom"]` etc.).
STATS_KEYS = (
    "tokens_before",
    "tokens_after",
    "tokens_saved",
    "compression_ratio",
    "transforms_applied",
    "ccr_hashes",
    "retrieval_rounds",
)


def retrieve_tool_mode(value: Any) -> RetrieveTool:
    """`value` as a `RetrieveTool`; True/False/None are read as always/never/auto."""
    if value is None:
        return "auto"
    if value is True or value is False:
        return "always" if value else "never"
    if value in get_args(RetrieveTool):
        return value  # type: ignore[no-any-return]
    raise ConfigurationError(f"retrieve_tool must be 'auto', 'always' or 'never', not {value!r}")


def stats_record(
    tokens_before: int,
    tokens_after: int,
    transforms_applied: Sequence[str] = (),
    ccr_hashes: Sequence[str] = (),
    retrieval_rounds: int | None = None,
) -> dict[str, Any]:
    """The shared stats record (keys in `STATS_KEYS`; `retrieval_rounds` when known)."""
    saved = max(0, tokens_before - tokens_after)
    record: dict[str, Any] = {
        "tokens_before": tokens_before,
        "tokens_after": tokens_after,
        "tokens_saved": saved,
        "compression_ratio": round(saved / tokens_before, 6) if tokens_before else 0.0,
        "transforms_applied": list(transforms_applied),
        "ccr_hashes": list(ccr_hashes),
    }
    if retrieval_rounds is not None:
        record["retrieval_rounds"] = retrieval_rounds
    return record
