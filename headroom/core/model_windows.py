"""The context windows of known models, so a request can be fitted without the caller
naming a limit; an unknown model gets no fitting."""

from __future__ import annotations

__all__ = ["context_window"]

# Model-name fragments -> context window in tokens; first match wins.
_WINDOWS: tuple[tuple[str, int], ...] = (
    ("gpt-4.1", 1_047_576),
    ("gpt-5", 400_000),
    ("gpt-4o", 128_000),
    ("gpt-4-turbo", 128_000),
    ("o1", 200_000),
    ("o3", 200_000),
    ("o4", 200_000),
    ("gpt-4", 8_192),
    ("gpt-3.5", 16_385),
    ("claude", 200_000),
    ("gemini", 1_048_576),
)


def context_window(model: str) -> int | None:
    """The context window of a known model, else None (no fitting)."""
    bare = model.rsplit("/", 1)[-1].lower()
    for fragment, size in _WINDOWS:
        if fragment in bare:
            return size
    return None
