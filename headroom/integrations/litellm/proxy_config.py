"""The `HeadroomCallback` the LiteLLM proxy's YAML names, configured from the environment.

LiteLLM's proxy resolves each ``litellm_settings.callbacks`` entry with
``getattr(module, name)`` and runs it only if it is a `CustomLogger`
*instance* (a class stops the proxy at startup). The line users copy,

    litellm_settings:
      callbacks: ["headroom.integrations.litellm_callback.HeadroomCallback"]

therefore resolves to `headroom_callback`, a ready callback. So that the same
name still builds callbacks in Python (``HeadroomCallback(min_tokens=800)``),
calling it returns a new `headroom.integrations.litellm.HeadroomCallback`, and
`isinstance`, `issubclass` and subclassing answer as the class would.

Configured when first imported: ``HEADROOM_MIN_TOKENS`` (default 500),
``HEADROOM_MODEL_LIMIT``, ``HEADROOM_TIMEOUT`` (remote mode, seconds, default
5), ``HEADROOM_RETRIEVAL`` ("0" turns the `headroom_retrieve` tool off), and
``HEADROOM_API_URL`` (+ ``HEADROOM_API_KEY``) for remote mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from headroom.integrations.litellm.callback import HeadroomCallback

__all__ = ["ProxyCallback", "from_env", "headroom_callback"]


def _int(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else None


def _settings() -> dict[str, Any]:
    min_tokens = _int("HEADROOM_MIN_TOKENS")
    timeout = os.environ.get("HEADROOM_TIMEOUT", "").strip()
    return {
        "min_tokens": 500 if min_tokens is None else min_tokens,
        "model_limit": _int("HEADROOM_MODEL_LIMIT"),
        "retrieval": os.environ.get("HEADROOM_RETRIEVAL", "1").strip().lower()
        not in ("0", "false", "no", "off"),
        "timeout": float(timeout) if timeout else 5.0,
    }


def from_env() -> HeadroomCallback:
    """A new `HeadroomCallback` configured from ``HEADROOM_*`` environment variables."""
    return HeadroomCallback(**_settings())


class _Done:
    """An awaitable that does nothing, harmless if never awaited."""

    def __await__(self) -> Iterator[Any]:
        return iter(())


def _is_logging_call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """LiteLLM calls every callable callback as a logging function too (with its
    call details, marked by ``log_event_type``); a `CustomLogger` ignores those."""
    return (
        not kwargs
        and len(args) in (1, 4)
        and isinstance(args[0], dict)
        and "log_event_type" in args[0]
    )


class ProxyCallback(HeadroomCallback):
    """A working callback that also builds new `HeadroomCallback` objects when called."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _is_logging_call(args, kwargs):
            return _Done()
        return HeadroomCallback(*args, **kwargs)

    def __instancecheck__(self, obj: object) -> bool:
        return isinstance(obj, HeadroomCallback)

    def __subclasscheck__(self, cls: type) -> bool:
        return issubclass(cls, HeadroomCallback)

    def __mro_entries__(self, bases: tuple[Any, ...]) -> tuple[type, ...]:
        return (HeadroomCallback,)

    def __repr__(self) -> str:
        return f"<HeadroomCallback for the LiteLLM proxy: {super().__repr__()}>"


#: The instance the proxy YAML names (also `headroom.integrations.litellm_callback.HeadroomCallback`).
headroom_callback = ProxyCallback(**_settings())
