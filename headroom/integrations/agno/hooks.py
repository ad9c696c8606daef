"""Agent pre/post hooks that change the run, not just watch it.

Agno gives a pre-hook the run's `RunContext` but not its `RunOutput`, so the
input hook files its savings under the run id and the output hook of the same
run adds them to the run's metrics.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from agno.run.agent import RunInput, RunOutput
from agno.run.base import RunContext

from headroom.core import CCRStore, CompressConfig, TokenCounter, compress, retrieve
from headroom.core.counters import Counters
from headroom.core.markers import replace_markers
from headroom.exceptions import RetrievalError
from headroom.integrations.agno.stats import (
    INPUT_METRIC_KEY,
    MANAGER_METRIC_KEYS,
    RUN_METRIC_KEYS,
    add_metrics,
    input_savings,
)

__all__ = ["HeadroomInputHook", "HeadroomOutputHook", "headroom_input_hook", "headroom_output_hook"]

logger = logging.getLogger("headroom")

MarkerMode = Literal["expand", "strip", "keep"]

#: The core never compresses the last user turn (it is the question being asked), so
#: the input goes first and this turn follows it. Its words are no relevance context.
_NEXT_TURN = {"role": "user", "content": "(the input above)"}


class HeadroomInputHook:
    """Pre-hook: compress structured content (logs, JSON, tables, code) pasted into the input.

    It runs before the agent builds its messages, so neither this request nor any
    later one that replays the history pays for the paste in full. The prose of
    the input is kept verbatim; what a lossy step drops is stored for
    `headroom_retrieve`. Only string inputs are rewritten.
    """

    def __init__(
        self,
        *,
        model: str = "gpt-4o",
        config: CompressConfig | None = None,
        store: CCRStore | None = None,
        token_counter: TokenCounter | None = None,
    ) -> None:
        self.model = model
        self.config = config or CompressConfig()
        self.store = store
        self.token_counter = token_counter
        self._totals = Counters("tokens_saved")

    @property
    def total_tokens_saved(self) -> int:
        """Input tokens removed from user inputs so far."""
        return self._totals.snapshot()["tokens_saved"]

    def compress_text(self, text: str) -> str:
        """`text` with its pasted structured content compressed (unchanged if nothing applies)."""
        return self._compress(text)[0]

    def _compress(self, text: str) -> tuple[str, int]:
        result = compress(
            [{"role": "user", "content": text}, _NEXT_TURN],
            model=self.model,
            config=self.config.replace(recall=False, cache_align=False),
            store=self.store,
            token_counter=self.token_counter,
        )
        new = result.messages[0].get("content")
        if not isinstance(new, str) or len(new) >= len(text):
            return text, 0
        self._totals.add({"tokens_saved": result.tokens_saved})
        return new, result.tokens_saved

    def __call__(self, run_input: RunInput, run_context: RunContext | None = None) -> None:
        if not isinstance(run_input.input_content, str):
            return
        try:
            run_input.input_content, saved = self._compress(run_input.input_content)
            if saved and run_context is not None:
                input_savings.add(run_context.run_id, saved)
        except Exception:
            if not self.config.fail_open:
                raise
            logger.warning("headroom: run input left uncompressed after an error", exc_info=True)


class HeadroomOutputHook:
    """Post-hook: the run's savings to ``metadata["headroom"]``, echoed markers resolved.

    Figures come from every route (wrapper, compression manager, input hook). A
    ``[headroom: ...]`` marker the model copied into its answer is plumbing the
    user cannot act on, so it is resolved.

    Args:
        markers: What to do with a marker found in the answer: ``"expand"``
            replaces it with the original it stands for (when that is at most
            `max_expand_chars`, else it becomes a plain note), ``"strip"``
            replaces it with a plain note, ``"keep"`` leaves it.
        store: The store the originals were put in (the process default if omitted).
        max_expand_chars: Largest original put back into an answer.
    """

    def __init__(
        self,
        *,
        markers: MarkerMode = "expand",
        store: CCRStore | None = None,
        max_expand_chars: int = 20_000,
    ) -> None:
        if markers not in ("expand", "strip", "keep"):
            raise ValueError(f"markers must be 'expand', 'strip' or 'keep', not {markers!r}")
        self.markers = markers
        self.store = store
        self.max_expand_chars = max_expand_chars

    def _replace(self, key: str) -> str | None:
        if self.markers == "keep":
            return None
        if self.markers == "expand":
            try:
                original = retrieve(key, store=self.store)
            except RetrievalError:
                original = None
            except Exception:  # a store that fails must not fail the run
                logger.warning("headroom: CCR store failed; marker left as a note", exc_info=True)
                original = None
            if original is not None and len(original) <= self.max_expand_chars:
                return original
        return f"[part of a tool output omitted; the original is kept under {key}]"

    def resolve_markers(self, text: str) -> tuple[str, list[str]]:
        """`text` with its markers handled per `markers`, and the hashes they named."""
        return replace_markers(text, self._replace)

    def __call__(self, run_output: RunOutput) -> None:
        saved_on_input = input_savings.pop(run_output.run_id)
        if saved_on_input:
            add_metrics(run_output.metrics, {INPUT_METRIC_KEY: saved_on_input})
        report: dict[str, Any] = {}
        extra = run_output.metrics.additional_metrics if run_output.metrics is not None else None
        for key in (*RUN_METRIC_KEYS, *MANAGER_METRIC_KEYS, INPUT_METRIC_KEY):
            if extra and key in extra:
                report[key.removeprefix("headroom_")] = extra[key]
        if saved_on_input and run_output.metrics is None:
            report["input_tokens_saved"] = saved_on_input
        if isinstance(run_output.content, str):
            content, hashes = self.resolve_markers(run_output.content)
            if hashes:
                report["markers_in_answer"] = hashes
                run_output.content = content
        # A fresh dict: run metadata may be the agent's own, shared across runs.
        run_output.metadata = {**(run_output.metadata or {}), "headroom": report}


#: ``Agent(pre_hooks=[headroom_input_hook()])``: the factory is the class itself.
headroom_input_hook = HeadroomInputHook
#: ``Agent(post_hooks=[headroom_output_hook()])``: the factory is the class itself.
headroom_output_hook = HeadroomOutputHook
