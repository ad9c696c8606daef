"""Extension points around `compress()`.

Subclass `CompressionHooks` and override what you need; every default is a
no-op, so a hook that raises is logged and ignored (compression fails open).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from headroom.core.messages import Message, Provider

__all__ = ["CompressContext", "CompressEvent", "CompressionHooks"]


@dataclass(frozen=True)
class CompressContext:
    """What the pipeline knows about the request being compressed.

    Attributes:
        model: The model the request is for.
        provider: Message shape, "openai" or "anthropic".
        query: The latest user question (prose only).
        turn: How many user turns the conversation has.
        tool_calls: Every tool call in the request: ``{"id", "name", "arguments"}``.
    """

    model: str
    provider: Provider
    query: str = ""
    turn: int = 0
    tool_calls: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class CompressEvent:
    """What one `compress()` call did, handed to `post_compress`."""

    context: CompressContext
    tokens_before: int
    tokens_after: int
    transforms_applied: tuple[str, ...]
    ccr_hashes: tuple[str, ...]
    messages: list[Message] = field(repr=False)

    @property
    def tokens_saved(self) -> int:
        """`tokens_before - tokens_after`; negative when the request grew."""
        return self.tokens_before - self.tokens_after


class CompressionHooks:
    """Override any of these to steer compression; the defaults change nothing."""

    def pre_compress(self, messages: list[Message], ctx: CompressContext) -> list[Message]:
        """Return the messages to compress (dedup, filter, inject). Must not mutate its input."""
        return messages

    def compute_biases(self, messages: list[Message], ctx: CompressContext) -> dict[int, float]:
        """Per-message aggressiveness by index: >1.0 keeps more, <1.0 compresses harder."""
        return {}

    def protect_messages(self, messages: list[Message], ctx: CompressContext) -> set[int]:
        """Indices of messages that must pass through untouched."""
        return set()

    def post_compress(self, event: CompressEvent) -> None:
        """Observe the outcome (logging, analytics)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
