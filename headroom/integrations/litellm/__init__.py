"""Headroom for LiteLLM: a callback that compresses every chat request before the provider sees it.

    import litellm
    from headroom.integrations.litellm import HeadroomCallback

    litellm.callbacks = [HeadroomCallback()]

Installed with ``pip install 'headroom[litellm]'``. Which LiteLLM paths the
callback reaches, and the sync `completion` wrapper for the one it cannot,
are described in docs/litellm.md.
"""

from __future__ import annotations

try:
    import litellm  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by a test that hides litellm
    raise ImportError(
        "headroom's LiteLLM integration needs LiteLLM: pip install 'headroom[litellm]'"
    ) from exc

from headroom.integrations.litellm.callback import HeadroomCallback
from headroom.integrations.litellm.remote import RemoteCompressor
from headroom.integrations.litellm.wrappers import acompletion, completion

__all__ = ["HeadroomCallback", "RemoteCompressor", "acompletion", "completion"]
