"""Compress-cache-retrieve: getting an original back after a lossy step.

Every lossy step stores the original under the hash its marker names. The
model asks for it with the `headroom_retrieve` tool; integrations answer that
call with `handle_retrieve_call`, and anyone can call `retrieve()` directly.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from headroom.core.store import CCRStore, get_default_store
from headroom.exceptions import RetrievalError

__all__ = [
    "RETRIEVE_TOOL_NAME",
    "content_hash",
    "handle_retrieve_call",
    "is_retrieve_name",
    "parse_retrieve_arguments",
    "retrieve",
    "retrieve_tool_anthropic",
    "retrieve_tool_openai",
]

logger = logging.getLogger("headroom")

RETRIEVE_TOOL_NAME = "headroom_retrieve"

_DESCRIPTION = (
    "Fetch the original, uncompressed content that a [headroom: ...] marker stands for. "
    "Pass the hash named in the marker; without a query you get the whole original. "
    "Add a query to get only the matching parts: plain words (rows, lines, functions or "
    "passages holding them); for records and tables also `field=value` (several joined by "
    "`,` or `and`; also `!=`, `>`, `<`, `>=`, `<=`, and `~` for 'contains'), "
    "`top 5 by column` or `bottom 5 by column`, or a column name alone for that column of "
    "every row. If nothing matches you are told so."
)
_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "hash": {"type": "string", "description": "The hash from the marker."},
        "query": {
            "type": "string",
            "description": (
                "Optional: words to look for, `field=value`, `top N by column` or "
                "`bottom N by column`; only matching parts are returned."
            ),
        },
    },
    "required": ["hash"],
}


def content_hash(text: str) -> str:
    """The CCR key of a text: 16 lowercase hex characters of its SHA-256."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def is_retrieve_name(name: object) -> bool:
    """Whether a tool name is `headroom_retrieve`, also behind an MCP-style `server__` prefix.

    The one rule every integration uses to recognise a retrieve call.
    """
    return isinstance(name, str) and (
        name == RETRIEVE_TOOL_NAME or name.endswith(f"__{RETRIEVE_TOOL_NAME}")
    )


def retrieve(hash: str, query: str | None = None, *, store: CCRStore | None = None) -> str:
    """The original stored under `hash`, or only its parts that match `query`.

    `query` takes the forms `_DESCRIPTION` documents (plain words, `field=value`,
    `top N by column`, ...). When nothing matches, the answer says so rather than
    returning the whole original the model did not ask for.

    Raises:
        RetrievalError: nothing is stored under `hash` (unknown or expired).
    """
    key = hash.strip().lower()
    original = (store if store is not None else get_default_store()).get(key)
    if original is None:
        raise RetrievalError(f"no original stored under hash {key!r} (unknown or expired)")
    if not query:
        return original
    from headroom.core.retrieve_query import matching_parts

    parts = matching_parts(original, query)
    if parts:
        return parts
    return (
        f"no part of the original matches {query!r}; "
        "call headroom_retrieve without a query for the whole original"
    )


def retrieve_tool_openai() -> dict[str, Any]:
    """The `headroom_retrieve` tool in OpenAI Chat Completions shape."""
    return {
        "type": "function",
        "function": {
            "name": RETRIEVE_TOOL_NAME,
            "description": _DESCRIPTION,
            "parameters": json.loads(json.dumps(_PARAMETERS)),
        },
    }


def retrieve_tool_anthropic() -> dict[str, Any]:
    """The `headroom_retrieve` tool in Anthropic Messages shape."""
    return {
        "name": RETRIEVE_TOOL_NAME,
        "description": _DESCRIPTION,
        "input_schema": json.loads(json.dumps(_PARAMETERS)),
    }


def parse_retrieve_arguments(raw: Any) -> dict[str, Any]:
    """A tool call's arguments as a dict: a JSON string or a mapping; {} when malformed."""
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, str):
        try:
            value = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}
    return {}


def handle_retrieve_call(
    arguments: str | Mapping[str, Any] | None, *, store: CCRStore | None = None
) -> str:
    """Answer a model's `headroom_retrieve` call; errors come back as text for the model.

    Never raises: a store that fails (a network store down, a bug) becomes an
    error text too, so the model can go on without the original.
    """
    if isinstance(arguments, str) and arguments.strip() and not parse_retrieve_arguments(arguments):
        return "headroom_retrieve error: arguments are not a JSON object"
    arguments = parse_retrieve_arguments(arguments)
    if not isinstance(arguments.get("hash"), str):
        return 'headroom_retrieve error: pass {"hash": "<hash from the marker>"}'
    query = arguments.get("query")
    try:
        return retrieve(arguments["hash"], query if isinstance(query, str) else None, store=store)
    except RetrievalError as exc:
        return f"headroom_retrieve error: {exc}"
    except Exception as exc:
        logger.warning("headroom: CCR store failed while answering a retrieval", exc_info=True)
        return f"headroom_retrieve error: the store failed ({type(exc).__name__})"
