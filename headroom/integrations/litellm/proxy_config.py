"""A module-level `HeadroomCallback` for the LiteLLM proxy's YAML.

LiteLLM resolves each ``litellm_settings.callbacks`` entry to an *object*; a
class path is not instantiated and stops the proxy at startup. Point the YAML
at this instance:

    litellm_settings:
      callbacks: ["headroom.integrations.litellm.proxy_config.headroom_callback"]

It is configured from the environment when the proxy imports it:
``HEADROOM_MIN_TOKENS`` (default 500), ``HEADROOM_MODEL_LIMIT``,
``HEADROOM_TIMEOUT`` (remote mode, seconds, default 5), ``HEADROOM_RETRIEVAL``
("0" turns the `headroom_retrieve` tool off), and ``HEADROOM_API_KEY`` /
``HEADROOM_API_URL`` for remote mode.
"""

from __future__ import annotations

import os

from headroom.integrations.litellm.callback import HeadroomCallback

__all__ = ["from_env", "headroom_callback"]


def _int(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else None


def from_env() -> HeadroomCallback:
    """A `HeadroomCallback` configured from ``HEADROOM_*`` environment variables."""
    min_tokens = _int("HEADROOM_MIN_TOKENS")
    timeout = os.environ.get("HEADROOM_TIMEOUT", "").strip()
    return HeadroomCallback(
        min_tokens=500 if min_tokens is None else min_tokens,
        model_limit=_int("HEADROOM_MODEL_LIMIT"),
        retrieval=os.environ.get("HEADROOM_RETRIEVAL", "1").strip().lower()
        not in ("0", "false", "no", "off"),
        timeout=float(timeout) if timeout else 5.0,
    )


#: The instance the proxy YAML names.
headroom_callback = from_env()
