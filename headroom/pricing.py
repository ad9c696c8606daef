"""Offline model prices, from the cost map LiteLLM ships inside its wheel.

LiteLLM keeps the field's best-maintained price table and bundles a copy
(`model_prices_and_context_window_backup.json`); reading that file directly
needs no network and no `import litellm` (which takes seconds). Without
LiteLLM installed there are no prices, and callers report cost as unknown.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Price", "cost_usd", "price_for", "price_table_source"]

_TABLE_FILE = "model_prices_and_context_window_backup.json"
_lock = threading.Lock()
_table: dict[str, Any] | None = None


@dataclass(frozen=True)
class Price:
    """USD per token, as LiteLLM's cost map gives them."""

    model: str
    input_per_token: float
    output_per_token: float


def price_table_source() -> Path | None:
    """The bundled cost map file, or None when LiteLLM is not installed."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / _TABLE_FILE
        if path.is_file():
            return path
    return None


def _load() -> dict[str, Any]:
    global _table
    with _lock:
        if _table is None:
            source = price_table_source()
            try:
                loaded = json.loads(source.read_text(encoding="utf-8")) if source else {}
            except (OSError, ValueError):
                loaded = {}
            _table = loaded if isinstance(loaded, dict) else {}
        return _table


def price_for(model: str) -> Price | None:
    """The price of `model`, trying it as given, then without a provider prefix.

    ``openrouter/openai/gpt-4o`` falls back to ``openai/gpt-4o`` and ``gpt-4o``, so
    a model routed through a gateway is priced like the model it names.
    """
    table = _load()
    name = model.strip()
    while name:
        entry = table.get(name)
        if isinstance(entry, dict):
            inp, out = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
            if isinstance(inp, (int, float)) and isinstance(out, (int, float)):
                return Price(name, float(inp), float(out))
        if "/" not in name:
            return None
        name = name.split("/", 1)[1]
    return None


def cost_usd(model: str, input_tokens: int, output_tokens: int = 0) -> float | None:
    """What a call costs in USD, or None when the model has no known price."""
    price = price_for(model)
    if price is None:
        return None
    return input_tokens * price.input_per_token + output_tokens * price.output_per_token
