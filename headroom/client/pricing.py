"""Offline input-token prices, read from the cost map bundled with LiteLLM.

LiteLLM keeps a maintained table of per-token prices
(``model_prices_and_context_window_backup.json``) inside its package. Headroom
reads that file directly: importing ``litellm`` takes seconds and, unless
``LITELLM_LOCAL_MODEL_COST_MAP`` is set, tries to fetch a fresh copy from the
network. Without LiteLLM installed there is no price table, and every estimate
is ``None`` with the reason saying so.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["COST_MAP_FILE", "PriceQuote", "input_price", "price_table_source"]

#: The file LiteLLM ships its cost map in (relative to the ``litellm`` package).
COST_MAP_FILE = "model_prices_and_context_window_backup.json"

#: A release date appended to a model name: ``-20250514`` or ``-2024-08-06``.
_DATE_SUFFIX = r"-(?:\d{8}|\d{4}-\d{2}-\d{2})"

#: Model lookups remembered; bounded because model names come from callers.
_MAX_QUOTES = 1024

_lock = threading.Lock()


@dataclass(frozen=True)
class PriceQuote:
    """The input price of a model, or why there is none.

    Attributes:
        usd_per_token: Dollars per input token, or None.
        key: The cost-map entry the price came from.
        reason: Why `usd_per_token` is None (empty when a price was found).
    """

    usd_per_token: float | None
    key: str = ""
    reason: str = ""

    def cost(self, tokens: int) -> float | None:
        """Dollars for `tokens` input tokens, or None without a price."""
        return None if self.usd_per_token is None else tokens * self.usd_per_token


def _cost_map_path() -> Path | None:
    spec = importlib.util.find_spec("litellm")  # locates the package without importing it
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / COST_MAP_FILE
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, Any] | None, str]:
    path = _cost_map_path()
    if path is None:
        return None, "no price table: LiteLLM is not installed (pip install 'headroom[litellm]')"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"no price table: cannot read {path}: {exc}"
    if not isinstance(data, dict):
        return None, f"no price table: {path} is not a JSON object"
    return data, str(path)


def price_table_source() -> tuple[bool, str]:
    """Whether a price table is available, and its path (or why not)."""
    with _lock:
        data, source = _load()
    return data is not None, source


def _priced(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("input_cost_per_token"), int | float)


def _candidates(model: str, provider: str) -> list[str]:
    bare = model.rsplit("/", 1)[-1]
    return list(dict.fromkeys([model, bare, f"{provider}/{bare}"]))


_quotes: dict[tuple[int, str, str], PriceQuote] = {}


def input_price(model: str, provider: str = "") -> PriceQuote:
    """The price of one input token of `model` from LiteLLM's bundled cost map.

    Tries the name as given, without a routing prefix (``openai/``), with the
    provider's prefix, and then the newest dated release of that name
    (``claude-sonnet-4`` -> ``claude-sonnet-4-20250514``).
    """
    with _lock:
        data, source = _load()
    if data is None:
        return PriceQuote(None, reason=source)
    memo = (id(data), model, provider)  # every request looks its model up: scan once
    quote = _quotes.get(memo)
    if quote is None:
        quote = _lookup(data, source, model, provider)
        if len(_quotes) < _MAX_QUOTES:
            _quotes[memo] = quote
    return quote


def _lookup(data: dict[str, Any], source: str, model: str, provider: str) -> PriceQuote:
    for key in _candidates(model, provider):
        entry: Any = data.get(key)
        if _priced(entry):
            return PriceQuote(float(entry["input_cost_per_token"]), key)
    dated_name = re.compile(re.escape(model.rsplit("/", 1)[-1]) + _DATE_SUFFIX)
    dated = sorted(
        (k for k, v in data.items() if dated_name.fullmatch(k) and _priced(v)), reverse=True
    )
    if dated:
        return PriceQuote(float(data[dated[0]]["input_cost_per_token"]), dated[0])
    return PriceQuote(None, reason=f"no price for model {model!r} in LiteLLM's cost map ({source})")
