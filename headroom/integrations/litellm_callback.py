"""The documented import path, and the name the LiteLLM proxy's YAML uses.

In Python, ``HeadroomCallback(...)`` builds a callback, as the class does::

    from headroom.integrations.litellm_callback import HeadroomCallback
    litellm.callbacks = [HeadroomCallback(min_tokens=500)]

In the proxy's YAML, ``headroom.integrations.litellm_callback.HeadroomCallback``
resolves to a ready callback configured from ``HEADROOM_*`` variables (LiteLLM
runs only instances). The name is that instance; it builds new callbacks when
called, and `isinstance` / subclassing treat it as the class. The class itself
is `headroom.integrations.litellm.HeadroomCallback`; see
`headroom.integrations.litellm.proxy_config`.
"""

from __future__ import annotations

from headroom.integrations.litellm.proxy_config import headroom_callback as HeadroomCallback

__all__ = ["HeadroomCallback"]
