"""LangGraph: compress tool results in the graph state itself.

`compress_tool_messages` returns compressed copies of the `ToolMessage`s that
shrank, each with the *same id*, so returning them from a node makes
`add_messages` replace the originals instead of appending duplicates. The
originals of lossy steps stay retrievable through `headroom_retrieve`. Use
`HeadroomToolCompressorNode` as that node, or with `replace_in_state=False`
as a `create_react_agent` `pre_model_hook` that only changes what the model
sees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, ToolMessage

from headroom import CCRStore, CompressConfig, CompressionHooks
from headroom.core.tokens import counter_for_model
from headroom.integrations.langchain.compression import compress_messages

__all__ = ["HeadroomToolCompressorNode", "compress_tool_messages"]

_MARK = "headroom"


def compress_tool_messages(
    messages: Sequence[BaseMessage],
    *,
    model: str = "gpt-4o",
    config: CompressConfig | None = None,
    hooks: CompressionHooks | None = None,
    store: CCRStore | None = None,
) -> list[ToolMessage]:
    """Compressed replacements (same ids) for the tool messages that shrank.

    Messages without an id are skipped (they could not replace anything), as
    are ones this function already compressed, so running it every turn
    costs a lookup. Nothing else in the conversation is changed.
    """
    compressed = compress_messages(messages, model=model, config=config, hooks=hooks, store=store)
    count = counter_for_model(model)
    out: list[ToolMessage] = []
    for original, new in zip(messages, compressed.messages, strict=True):
        if not isinstance(original, ToolMessage) or new is original or not original.id:
            continue
        if _MARK in original.response_metadata:
            continue
        text = str(new.content)
        before, after = count(str(original.content)), count(text)
        stats = {
            "tokens_before": before,
            "tokens_after": after,
            "tokens_saved": max(0, before - after),
            "ccr_hashes": [h for h in compressed.ccr_hashes if h in text],
        }
        out.append(
            new.model_copy(
                update={"response_metadata": {**original.response_metadata, _MARK: stats}}
            )  # type: ignore[arg-type]
        )
    return out


class HeadroomToolCompressorNode:
    """A graph node that compresses the tool results in `state[messages_key]`.

    Args:
        model: Model name for token counting.
        config, hooks, store: As for `compress()`.
        messages_key: The state key holding the messages.
        replace_in_state: True: return the compressed tool messages under
            `messages_key` (replaced by id). False: return every message, compressed,
            under `llm_input_messages` (the `pre_model_hook` contract), leaving the
            state as it is.
    """

    def __init__(
        self,
        *,
        model: str = "gpt-4o",
        config: CompressConfig | None = None,
        hooks: CompressionHooks | None = None,
        store: CCRStore | None = None,
        messages_key: str = "messages",
        replace_in_state: bool = True,
    ) -> None:
        self.model = model
        self.config = config
        self.hooks = hooks
        self.store = store
        self.messages_key = messages_key
        self.replace_in_state = replace_in_state

    def __call__(self, state: Mapping[str, Any] | Any) -> dict[str, Any]:
        messages = (
            state[self.messages_key]
            if isinstance(state, Mapping)
            else getattr(state, self.messages_key)
        )
        if self.replace_in_state:
            changed = compress_tool_messages(
                messages, model=self.model, config=self.config, hooks=self.hooks, store=self.store
            )
            return {self.messages_key: changed}
        compressed = compress_messages(
            messages, model=self.model, config=self.config, hooks=self.hooks, store=self.store
        )
        return {"llm_input_messages": compressed.messages}
