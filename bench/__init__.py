"""Benchmarks over the shared corpus: compression, needle recall, latency, prompt-cache cost.

Run everything with ``python bench/run.py`` (add ``--peer`` to compare with headroom-ai).
"""

from __future__ import annotations

__all__: list[str] = []
