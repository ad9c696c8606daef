"""One call from LangChain messages to `compress()` and back, shared by every piece here.

The LangChain default turns cache alignment off, so the system prompt reaches
the model byte for byte; recall stays on (it appends a block *after* the
user's verbatim text when an earlier output was cut lossily).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from headroom import CCRStore, CompressConfig, CompressionHooks, compress
from headroom.core.options import stats_record
from headroom.integrations.langchain.converters import from_core, to_core

__all__ = [
    "DEFAULT_CONFIG",
    "Compressed",
    "compress_messages",
    "model_name_of",
]

logger = logging.getLogger("headroom")

DEFAULT_CONFIG = CompressConfig(cache_align=False)


@dataclass(frozen=True)
class Compressed:
    """Messages to send, and what compressing them did."""

    messages: list[BaseMessage]
    tokens_before: int = 0
    tokens_after: int = 0
    transforms_applied: list[str] = field(default_factory=list)
    ccr_hashes: list[str] = field(default_factory=list)

    @property
    def tokens_saved(self) -> int:
        return max(0, self.tokens_before - self.tokens_after)

    def stats(self) -> dict[str, Any]:
        """The per-call record put in `response_metadata["headroom"]`."""
        return stats_record(
            self.tokens_before, self.tokens_after, self.transforms_applied, self.ccr_hashes
        )


def model_name_of(model: BaseChatModel) -> str:
    """The wrapped model's name (picks the tokenizer); "gpt-4o" when it has none."""
    for attr in ("model_name", "model", "model_id", "deployment_name"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    try:
        name = model._get_ls_params().get("ls_model_name")
    except Exception:
        name = None
    return name if isinstance(name, str) and name else "gpt-4o"


def compress_messages(
    messages: Sequence[BaseMessage],
    *,
    model: str,
    config: CompressConfig | None = None,
    hooks: CompressionHooks | None = None,
    store: CCRStore | None = None,
    model_limit: int | None = None,
) -> Compressed:
    """Compress LangChain messages; on any failure, the originals with a logged warning."""
    originals = list(messages)
    try:
        result = compress(
            to_core(originals),
            model,
            model_limit=model_limit,
            config=config or DEFAULT_CONFIG,
            hooks=hooks,
            store=store,
        )
        out = from_core(result.messages, originals)
    except Exception as exc:
        logger.warning("headroom: compression failed, sending the original messages", exc_info=True)
        return Compressed(originals, transforms_applied=[f"fail_open:{type(exc).__name__}"])
    return Compressed(
        out,
        result.tokens_before,
        result.tokens_after,
        list(result.transforms_applied),
        list(result.ccr_hashes),
    )
