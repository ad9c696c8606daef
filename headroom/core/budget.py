"""Saying so when a compressed request is still over its model's window.

`compress()` fits a request into ``model_limit - output_reserve`` by stubbing
and cutting old tool outputs; when that is not enough (many short turns,
nothing left to cut) the request goes out as it is. An integration calls
`warn_if_over_budget` on the result so the user reads why in the log, before
the provider's rejection.
"""

from __future__ import annotations

import logging

from headroom.core.config import CompressConfig
from headroom.core.model_windows import context_window
from headroom.core.result import CompressionResult

__all__ = ["warn_if_over_budget"]

logger = logging.getLogger("headroom")


def warn_if_over_budget(
    result: CompressionResult, model: str, model_limit: int | None, config: CompressConfig
) -> bool:
    """Log a warning when `result` is over `model_limit` (the model's known window when
    None) minus `config.output_reserve`; whether it is."""
    limit = model_limit or context_window(model)
    if limit is None or result.tokens_after <= limit - config.output_reserve:
        return False
    logger.warning(
        "headroom: request to %s is %d tokens after compression, over its budget of %d "
        "(model_limit %d minus output_reserve %d); the provider may reject it",
        model, result.tokens_after, limit - config.output_reserve, limit, config.output_reserve,
    )  # fmt: skip
    return True
