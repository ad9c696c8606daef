"""Configuration of `compress()`: which transforms run and how hard they cut."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CompressConfig"]


class CompressConfig(BaseModel):
    """Knobs for `compress()`. Defaults keep every answer and save the most.

    Attributes:
        min_tokens: Tool outputs (and pasted context) below this are left alone.
        lossy: Allow row/line/body selection beyond lossless reformatting.
            Everything a lossy step drops is stored for `headroom_retrieve`.
        ccr: Store originals of lossy steps and name their hash in the marker.
        recall: After a user's question, surface the parts of earlier compressed
            outputs that match it (appended to that question, so the prefix the
            provider has cached is never rewritten).
        cache_align: Move volatile values (dates, times, ids) out of the system
            prompt so its bytes stay stable across requests.
        compress_user_context: Compress large *structured* user content (pasted
            JSON, logs, code) in earlier user turns; prose is never rewritten.
        protect_tools: Tool names whose outputs are never compressed.
        keep_last_turns: Turns the context-window manager never stubs.
        output_reserve: Tokens kept free for the reply when fitting `model_limit`.
        target_rows: Rows a record table keeps beyond the must-keep ones.
        top_k: Rows kept at each end of every numeric column (top-k and bottom-k).
        fail_open: On an internal error return the input unchanged (logged)
            instead of raising `CompressionError`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_tokens: int = Field(default=250, ge=0)
    lossy: bool = True
    ccr: bool = True
    recall: bool = True
    cache_align: bool = True
    compress_user_context: bool = True
    protect_tools: tuple[str, ...] = ()
    keep_last_turns: int = Field(default=2, ge=1)
    output_reserve: int = Field(default=4096, ge=0)
    target_rows: int = Field(default=12, ge=1)
    top_k: int = Field(default=5, ge=1)
    max_recall_tokens: int = Field(default=1500, ge=0)
    fail_open: bool = True

    def fingerprint(self) -> str:
        """A stable string of the settings that change output bytes (for memo keys)."""
        return self.model_dump_json(exclude={"fail_open"})
