"""What a request costs beyond its messages' text, for `count_tokens`.

Agno calls `Model.count_tokens` from its compression and compaction checks;
the wrapper counts offline, so it adds here what the core's message counts do
not see: attached media, the tool definitions and the output schema.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agno.models.message import Message
from agno.tools.function import Function
from pydantic import BaseModel

from headroom.core import TokenCounter

__all__ = ["extra_tokens"]

#: Media attached to a message is sent as-is; counted at a flat typical cost.
_MEDIA_TOKENS = 765


def _schema_text(schema: Any) -> str:
    if schema is None:
        return ""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return json.dumps(schema.model_json_schema())
    try:
        return json.dumps(schema, default=str)
    except (TypeError, ValueError):
        return str(schema)


def _tools_text(tools: Sequence[Any] | None) -> str:
    if not tools:
        return ""
    return json.dumps([t.to_dict() if isinstance(t, Function) else t for t in tools], default=str)


def _media_count(message: Message) -> int:
    return sum(
        len(items or ()) for items in (message.images, message.audio, message.videos, message.files)
    )


def extra_tokens(
    messages: Sequence[Message], tools: Sequence[Any] | None, schema: Any, count: TokenCounter
) -> int:
    """Tokens of the media attached to `messages`, of `tools` and of the output `schema`."""
    media = _MEDIA_TOKENS * sum(_media_count(m) for m in messages)
    return media + count(_tools_text(tools)) + count(_schema_text(schema))
