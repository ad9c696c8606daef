"""Offline model prices, from the cost map LiteLLM ships inside its wheel.

LiteLLM keeps the field's best-maintained price table and bundles a copy
(`model_prices_and_context_window_backup.json`); reading that file directly
needs no network and no `import litellm` (which takes seconds and, unless
``LITELLM_LOCAL_MODEL_COST_MAP`` is set, fetches a fresh copy). Without LiteLLM
installed there are no prices, and callers report cost as unknown. The one
price table of the package: the server's ledger (`price_for`, `cost_usd`) and
the client's estimates (`input_price`, `PriceQuote`) read it.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "COST_MAP_FILE",
    "Price",
    "PriceQuote",
    "cost_usd",
    "input_price",
    "price_for",
    "price_table_source",
]

#: The file LiteLLM ships its cost map in (relative to the ``litellm`` package).
COST_MAP_FILE = "model_prices_and_context_window_backup.json"

#: A release date appended to a model name: ``-20250514`` or ``-2024-08-06``.
_DATE_SUFFIX = r"-(?:\d{8}|\d{4}-\d{2}-\d{2})"

#: Model lookups remembered; bounded because model names come from callers.
_MAX_LOOKUPS = 1024

_lock = threading.Lock()
#: The table the remembered lookups were made in (held, so it is never another one), and them.
_memo: tuple[object, dict[tuple[str, str, bool], str | None]] = (None, {})


@dataclass(frozen=True)
class Price:
    """USD per token, as LiteLLM's cost map gives them."""

    model: str
    input_per_token: float
    output_per_token: float


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
    try:
        spec = importlib.util.find_spec("litellm")  # locates the package without importing it
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / COST_MAP_FILE
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, Any] | None, str]:
    """The cost map and its path, or None and why there is none."""
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


def _table() -> tuple[dict[str, Any] | None, str]:
    with _lock:
        return _load()


def price_table_source() -> tuple[bool, str]:
    """Whether a price table is available, and its path (or why not)."""
    data, source = _table()
    return data is not None, source


def _number(entry: Any, field: str) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get(field), int | float)


def _input_priced(entry: Any) -> bool:
    return _number(entry, "input_cost_per_token")


def _fully_priced(entry: Any) -> bool:
    return _input_priced(entry) and _number(entry, "output_cost_per_token")


def _candidates(model: str, provider: str) -> list[str]:
    """The name as given, then without each routing prefix, then with the provider's prefix.

    ``openrouter/openai/gpt-4o`` tries ``openai/gpt-4o`` and ``gpt-4o``, so a
    model routed through a gateway is priced like the model it names.
    """
    names, name = [], model.strip()
    while name:
        names.append(name)
        if "/" not in name:
            break
        name = name.split("/", 1)[1]
    bare = names[-1] if names else ""
    if provider and bare:
        names.append(f"{provider}/{bare}")
    return list(dict.fromkeys(names))


def _find(
    data: dict[str, Any], model: str, provider: str, priced: Callable[[Any], bool]
) -> str | None:
    """The cost-map key that prices `model`: a candidate name, or its newest dated release."""
    for key in _candidates(model, provider):
        if priced(data.get(key)):
            return key
    dated_name = re.compile(re.escape(model.rsplit("/", 1)[-1]) + _DATE_SUFFIX)
    dated = sorted((k for k, v in data.items() if dated_name.fullmatch(k) and priced(v)))
    return dated[-1] if dated else None


def _key(data: dict[str, Any], model: str, provider: str, full: bool) -> str | None:
    global _memo
    with _lock:  # every request looks its model up: scan the table once per name
        table, found = _memo
        if table is not data:
            found = {}
            _memo = (data, found)
        if (model, provider, full) in found:
            return found[(model, provider, full)]
    key = _find(data, model, provider, _fully_priced if full else _input_priced)
    with _lock:
        if len(found) < _MAX_LOOKUPS:
            found[(model, provider, full)] = key
    return key


def input_price(model: str, provider: str = "") -> PriceQuote:
    """The price of one input token of `model`, or a quote saying why there is none.

    Tries the name as given, without routing prefixes (``openai/``), with the
    provider's prefix, and then the newest dated release of that name
    (``claude-sonnet-4`` -> ``claude-sonnet-4-20250514``).
    """
    data, source = _table()
    if data is None:
        return PriceQuote(None, reason=source)
    key = _key(data, model, provider, full=False)
    if key is None:
        return PriceQuote(
            None, reason=f"no price for model {model!r} in LiteLLM's cost map ({source})"
        )
    return PriceQuote(float(data[key]["input_cost_per_token"]), key)


def price_for(model: str) -> Price | None:
    """The input and output price of `model` (same name rules as `input_price`)."""
    data, _ = _table()
    key = _key(data, model, "", full=True) if data is not None else None
    if data is None or key is None:
        return None
    entry = data[key]
    return Price(key, float(entry["input_cost_per_token"]), float(entry["output_cost_per_token"]))


def cost_usd(model: str, input_tokens: int, output_tokens: int = 0) -> float | None:
    """What a call costs in USD, or None when the model has no known price."""
    price = price_for(model)
    if price is None:
        return None
    return input_tokens * price.input_per_token + output_tokens * price.output_per_token
