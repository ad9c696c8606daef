"""`HeadroomCompressionManager`: agno's own compression hook, without an LLM call.

Agno's `CompressionManager` asks a model to summarise each tool result and
writes the summary to `Message.compressed_content`, which providers send in
place of `content` while the session keeps the original. This subclass fills
the same field with Headroom's deterministic compression: no extra model call,
no cost, the same bytes for the same output every turn (so the provider's
prompt cache keeps hitting), and every lossy step retrievable with
`headroom_retrieve`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agno.compression.manager import CompressionManager
from agno.models.base import Model
from agno.models.message import Message
from agno.tools.function import Function

from headroom.core import (
    CCRStore,
    CompressConfig,
    CompressionHooks,
    TokenCounter,
    compress,
    counter_for_model,
)
from headroom.core.tokens import count_message_tokens
from headroom.integrations.agno.ccr import retrieve_function
from headroom.integrations.agno.converters import to_core
from headroom.integrations.agno.stats import MANAGER_METRIC_KEYS, add_metrics, message_tokens

if TYPE_CHECKING:
    from agno.metrics import RunMetrics

__all__ = ["HeadroomCompressionManager"]

logger = logging.getLogger("headroom")

# Stats are plain dict updates; async runs compress in worker threads.
_STATS_LOCK = threading.Lock()
#: `stats` keys: agno's own three, and the tokens Headroom saved on tool results.
_STATS_KEYS = ("tool_results_compressed", "original_size", "compressed_size", "tokens_saved")


def _pending(messages: list[Message]) -> list[int]:
    """Positions of the tool results not compressed yet."""
    return [i for i, m in enumerate(messages) if m.role == "tool" and m.compressed_content is None]


@dataclass
class HeadroomCompressionManager(CompressionManager):
    """Compress tool results in place (``compressed_content``), deterministically.

    Usage::

        manager = HeadroomCompressionManager()
        agent = Agent(model=..., tools=[..., manager.retrieve_tool], compression_manager=manager)

    Every tool result is compressed as soon as it arrives (agno's default waits
    for three, because each costs an LLM call; here it costs milliseconds). Set
    `compress_token_limit` to compress only once the request reaches that many
    tokens, counted offline.

    Attributes:
        config: Compression settings; `CompressConfig()` when omitted.
        hooks: `CompressionHooks` to steer or observe compression.
        store: Where originals of lossy steps go; the process default when omitted.
        token_counter: Count tokens with this instead of the model's offline tokenizer.
        model_id: The model whose tokenizer counts; the agent's model id when omitted.
    """

    compress_tool_results_limit: int | None = 1
    config: CompressConfig | None = None
    hooks: CompressionHooks | None = None
    store: CCRStore | None = None
    token_counter: TokenCounter | None = None
    model_id: str | None = None

    @property
    def retrieve_tool(self) -> Function:
        """The `headroom_retrieve` tool reading this manager's store: add it to the agent's tools."""
        return retrieve_function(self.store)

    def _model_id(self, model: Model | None = None) -> str:
        if self.model_id:
            return self.model_id
        source = model if model is not None else self.model
        model_id = getattr(source, "id", None)
        return model_id if isinstance(model_id, str) and model_id else "gpt-4o"

    def count_tokens(self, messages: list[Message], model: Model | None = None) -> int:
        """Tokens of `messages` as they would be sent, counted offline."""
        return message_tokens(
            messages, self.token_counter or counter_for_model(self._model_id(model))
        )

    def should_compress(
        self,
        messages: list[Message],
        tools: list[Any] | None = None,
        model: Model | None = None,
        response_format: Any = None,
    ) -> bool:
        """Whether a tool result is still uncompressed (and the token limit, if any, is reached)."""
        if not self.compress_tool_results:
            return False
        pending = len(_pending(messages))
        if pending == 0:
            return False
        if self.compress_token_limit is not None:
            return self.count_tokens(messages, model) >= self.compress_token_limit
        return pending >= (self.compress_tool_results_limit or 1)

    async def ashould_compress(
        self,
        messages: list[Message],
        tools: list[Any] | None = None,
        model: Model | None = None,
        response_format: Any = None,
    ) -> bool:
        return self.should_compress(messages, tools, model, response_format)

    def compress(self, messages: list[Message], run_metrics: RunMetrics | None = None) -> None:
        """Write `compressed_content` on each tool result Headroom can shrink (originals stay)."""
        if not self.compress_tool_results:
            return
        pending = _pending(messages)
        if not pending:
            return
        config = self.config or CompressConfig()
        try:
            sent = to_core(messages)
            result = compress(
                sent,
                model=self._model_id(),
                config=config,
                hooks=self.hooks,
                store=self.store,
                token_counter=self.token_counter,
            )
        except Exception:
            if not config.fail_open:
                raise
            logger.warning("headroom: tool results left uncompressed after an error", exc_info=True)
            return
        count = self.token_counter or counter_for_model(self._model_id())
        totals = dict.fromkeys(_STATS_KEYS, 0)
        for i in pending:
            new = result.messages[i].get("content")
            if not isinstance(new, str) or new == sent[i].get("content"):
                continue
            totals["original_size"] += len(str(messages[i].content or ""))
            messages[i].compressed_content = new
            totals["tool_results_compressed"] += 1
            totals["compressed_size"] += len(new)
            before, after = (count_message_tokens(m[i], count) for m in (sent, result.messages))
            totals["tokens_saved"] += max(0, before - after)
        if totals["tool_results_compressed"]:
            with _STATS_LOCK:
                for key, value in totals.items():
                    self.stats[key] = self.stats.get(key, 0) + value
            saved = (totals["tool_results_compressed"], totals["tokens_saved"])
            add_metrics(run_metrics, dict(zip(MANAGER_METRIC_KEYS, saved, strict=True)))

    async def acompress(
        self, messages: list[Message], run_metrics: RunMetrics | None = None
    ) -> None:
        await asyncio.to_thread(self.compress, messages, run_metrics)

    @property
    def total_tokens_saved(self) -> int:
        """Tokens saved on tool results so far."""
        return int(self.stats.get("tokens_saved", 0))
