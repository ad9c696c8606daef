"""Headroom for Agno: compress what agno agents send, keep what the model needs.

    from headroom.integrations.agno import HeadroomAgnoModel
    agent = Agent(model=HeadroomAgnoModel(Claude(id="claude-sonnet-4-20250514")), tools=[...])

Three routes: wrap the model (`HeadroomAgnoModel`), hand the agent a
deterministic `HeadroomCompressionManager`, or add the pre/post hooks.
Needs agno: ``pip install 'headroom[agno]'``.
"""

from __future__ import annotations

try:
    import agno.models.base  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by patching sys.modules
    raise ImportError(
        "headroom.integrations.agno needs the agno package: pip install 'headroom[agno]'"
    ) from exc

from headroom.integrations.agno.ccr import retrieve_function
from headroom.integrations.agno.compression_manager import HeadroomCompressionManager
from headroom.integrations.agno.converters import from_core, to_core
from headroom.integrations.agno.hooks import headroom_input_hook, headroom_output_hook
from headroom.integrations.agno.model import HeadroomAgnoModel

__all__ = [
    "HeadroomAgnoModel",
    "HeadroomCompressionManager",
    "from_core",
    "headroom_input_hook",
    "headroom_output_hook",
    "retrieve_function",
    "to_core",
]
