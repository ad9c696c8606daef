"""The documented import path: ``from headroom.integrations.litellm_callback import HeadroomCallback``."""

from __future__ import annotations

from headroom.integrations.litellm import HeadroomCallback

__all__ = ["HeadroomCallback"]
