"""`HeadroomClient`: wrap the OpenAI or Anthropic SDK client so requests send fewer tokens.

    from openai import OpenAI
    from headroom import HeadroomClient, OpenAIProvider

    client = HeadroomClient(original_client=OpenAI(), provider=OpenAIProvider())
    client.chat.completions.create(model="gpt-4o", messages=messages)

Importing this package imports no SDK; the wrapped client brings its own.
Install both SDKs with ``pip install 'headroom[client]'``.
"""

from __future__ import annotations

from headroom.client.metrics import MetricsStore, RequestMetrics, default_data_dir
from headroom.client.modes import MODES
from headroom.client.pipeline import SimulationPlan
from headroom.client.providers import AnthropicProvider, OpenAIProvider, Provider
from headroom.client.streaming import AsyncHeadroomStream, HeadroomStream
from headroom.client.wrapper import HeadroomClient

__all__ = [
    "MODES",
    "AnthropicProvider",
    "AsyncHeadroomStream",
    "HeadroomClient",
    "HeadroomStream",
    "MetricsStore",
    "OpenAIProvider",
    "Provider",
    "RequestMetrics",
    "SimulationPlan",
    "default_data_dir",
]
