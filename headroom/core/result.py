"""The value `compress()` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CompressionResult"]


@dataclass(frozen=True)
class CompressionResult:
    """Compressed messages (same shape as the input) and what it saved.

    Attributes:
        messages: The messages to send instead of the input.
        tokens_before: Tokens of the input.
        tokens_after: Tokens of `messages`.
        tokens_saved: `tokens_before - tokens_after`; negative when the request
            grew (recall appended more than compression removed), reported as is.
        compression_ratio: `tokens_saved / tokens_before`: 0.0 (no saving) to
            1.0, below 0.0 when the request grew.
        transforms_applied: What ran, e.g. ``["json:records", "logs:templates"]``.
        ccr_hashes: Hashes under which lossy steps stored originals.
    """

    messages: list[dict[str, Any]]
    tokens_before: int
    tokens_after: int
    transforms_applied: list[str] = field(default_factory=list)
    ccr_hashes: list[str] = field(default_factory=list)

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after

    @property
    def compression_ratio(self) -> float:
        return self.tokens_saved / self.tokens_before if self.tokens_before else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape the server's `/v1/compress` returns."""
        return {
            "messages": self.messages,
            "tokens_before": self.tokens_before,
            "tokens_after": self.tokens_after,
            "tokens_saved": self.tokens_saved,
            "compression_ratio": round(self.compression_ratio, 6),
            "transforms_applied": list(self.transforms_applied),
            "ccr_hashes": list(self.ccr_hashes),
        }
