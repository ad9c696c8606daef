"""Compress one output where it is produced: a tool result, a retrieved document.

Adapters that see an output before it joins a conversation (LangChain's
`compress_tool`, a document compressor) used to wrap it in a pretend
conversation to call `compress()`. This is the same per-output step
`compress()` runs for each slot (same transforms, same memo, same CCR storage,
same fail-open rule), called directly: the output, the tool that produced it,
its arguments and the question it was fetched for are the whole context.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from headroom.core.config import CompressConfig
from headroom.core.messages import Slot
from headroom.core.options import stats_record
from headroom.core.slots import SlotTask, Tokens, compress_stored, counter_id, eligible
from headroom.core.store import CCRStore, get_default_store
from headroom.core.tokens import TokenCounter, counter_for_model

__all__ = ["OUTPUT_CONFIG", "OutputResult", "compress_output"]

logger = logging.getLogger("headroom")

#: One output has no conversation around it: nothing to recall into, no system prompt.
OUTPUT_CONFIG = CompressConfig(recall=False, cache_align=False)


@dataclass(frozen=True)
class OutputResult:
    """One compressed output and what compressing it did (tokens of the text alone)."""

    text: str
    tokens_before: int = 0
    tokens_after: int = 0
    transforms_applied: list[str] = field(default_factory=list)
    ccr_hashes: list[str] = field(default_factory=list)

    @property
    def tokens_saved(self) -> int:
        return max(0, self.tokens_before - self.tokens_after)

    def stats(self) -> dict[str, Any]:
        """The shared stats record (`headroom.core.options.stats_record`)."""
        return stats_record(
            self.tokens_before, self.tokens_after, self.transforms_applied, self.ccr_hashes
        )


def compress_output(
    text: str,
    *,
    tool_name: str | None = None,
    arguments: Any = None,
    question: str | None = None,
    model: str = "gpt-4o",
    config: CompressConfig | None = None,
    store: CCRStore | None = None,
    token_counter: TokenCounter | None = None,
) -> OutputResult:
    """Compress `text`, the output of `tool_name` called with `arguments` for `question`.

    Args:
        text: The output.
        tool_name: The tool that produced it (names in `config.protect_tools`
            are left alone).
        arguments: The call's arguments (a JSON string or a JSON-ready value):
            relevance context, like `question`.
        question: What the output was fetched for, if known.
        model: Picks the tokenizer.
        config: Settings; `OUTPUT_CONFIG` when omitted.
        store: Where originals of lossy steps go; the process default if omitted.
        token_counter: Count tokens with this instead of the model's tokenizer.

    Returns:
        An `OutputResult` whose `text` is `text` itself when nothing was gained.
        On an internal error, `text` unchanged (logged), unless `config.fail_open`
        is off.
    """
    cfg = config or OUTPUT_CONFIG
    try:
        return _compress_output(
            text, tool_name, arguments, question, model, cfg, store, token_counter
        )
    except Exception as exc:
        if not cfg.fail_open:
            raise
        logger.warning("headroom: compression failed, keeping the original output", exc_info=True)
        return OutputResult(text, transforms_applied=[f"fail_open:{type(exc).__name__}"])


def _compress_output(
    text: str,
    tool_name: str | None,
    arguments: Any,
    question: str | None,
    model: str,
    cfg: CompressConfig,
    store: CCRStore | None,
    token_counter: TokenCounter | None,
) -> OutputResult:
    tokens = Tokens(token_counter or counter_for_model(model), counter_id(model, token_counter))
    args = arguments if isinstance(arguments, str) else json.dumps(arguments or {}, default=str)
    slot = Slot(0, ("content",), text, "tool_output", tool_name, args)
    if not eligible(slot, cfg, last_question=-1):
        return OutputResult(text)
    context = [question] if question and question.strip() else []
    context.append(args)
    task = SlotTask(slot, tuple(context), 1.0)
    store = store if store is not None else get_default_store()
    outcome, ccr_hash = compress_stored(task, cfg, store, tokens)
    if outcome.text is None:
        return OutputResult(text, outcome.tokens_before, outcome.tokens_before)
    hashes = [ccr_hash] if outcome.lossy and cfg.ccr else []
    return OutputResult(
        outcome.text, outcome.tokens_before, outcome.tokens_after, [outcome.name], hashes
    )
