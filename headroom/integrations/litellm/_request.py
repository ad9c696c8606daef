"""Pure request plumbing shared by the LiteLLM hooks and wrappers (no LiteLLM import).

Chat call types and their wire format, messages as plain dicts, cache breakpoints,
where savings go in LiteLLM's metadata, and a memo of what this callback produced
(a request through two hooks, or an agentic follow-up, is not compressed twice).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from headroom.core.messages import Message, find_slots
from headroom.core.retrieval import RETRIEVE_ADAPTERS, as_json
from headroom.core.retrieve_adapter import RetrieveAdapter

__all__ = [
    "CHAT_CALL_TYPES",
    "OutputMemo",
    "cache_breakpoint_index",
    "call_type_name",
    "has_retrieve_tool",
    "metadata_key",
    "plain_messages",
    "retrieve_adapter",
    "upper_bound_tokens",
    "with_stats",
]

#: LiteLLM call types whose `messages` are a chat conversation; every other
#: call type (embeddings, images, audio, moderation, responses...) is left alone.
CHAT_CALL_TYPES = frozenset({"completion", "acompletion", "anthropic_messages"})


def retrieve_adapter(call_type: str) -> RetrieveAdapter:
    """The core's retrieve adapter for a call type's wire format (tools, calls, follow-ups)."""
    api = "anthropic_messages" if call_type == "anthropic_messages" else "openai_chat"
    return RETRIEVE_ADAPTERS[api]


def call_type_name(call_type: Any) -> str:
    """`CallTypes.acompletion` or "acompletion" -> "acompletion"."""
    value = getattr(call_type, "value", call_type)
    return value if isinstance(value, str) else ""


def plain_messages(messages: Any) -> list[Message] | None:
    """The messages as plain dicts (SDK message objects, e.g. a previous response's
    `choices[0].message` appended to the history, become dicts); None if impossible."""
    if not isinstance(messages, list) or not messages:
        return None
    plain = messages if all(isinstance(m, dict) for m in messages) else as_json(messages)
    return plain if all(isinstance(m, dict) for m in plain) else None


def _has_cache_control(node: Any) -> bool:
    if isinstance(node, Mapping):
        if node.get("cache_control"):
            return True
        content = node.get("content")
        if isinstance(content, list):
            return any(_has_cache_control(part) for part in content)
    return False


def cache_breakpoint_index(messages: Sequence[Mapping[str, Any]]) -> int:
    """Index of the last message carrying a `cache_control` breakpoint, or -1.

    The provider caches everything up to that breakpoint; rewriting any of it
    would turn a cache read into a cache write.
    """
    for i in range(len(messages) - 1, -1, -1):
        if _has_cache_control(messages[i]):
            return i
    return -1


def has_retrieve_tool(tools: Any) -> bool:
    """Whether a tools list, in either shape, names `headroom_retrieve` (the core's rule)."""
    return isinstance(tools, list) and any(
        not RETRIEVE_ADAPTERS[api].can_offer({"tools": tools})
        for api in ("openai_chat", "anthropic_messages")
    )


def metadata_key(kwargs: Mapping[str, Any], call_type: str) -> str:
    """Where LiteLLM keeps its own metadata for this call.

    `/v1/messages` reserves `metadata` for Anthropic's API field, so LiteLLM
    uses `litellm_metadata` there.
    """
    if call_type == "anthropic_messages":
        return "litellm_metadata"
    if "metadata" not in kwargs and isinstance(kwargs.get("litellm_metadata"), Mapping):
        return "litellm_metadata"
    return "metadata"


def with_stats(kwargs: Mapping[str, Any], key: str, stats: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `kwargs` whose metadata carries the per-call savings.

    Under `headroom` for other callbacks (`kwargs["litellm_params"]["metadata"]`)
    and under `spend_logs_metadata.headroom`, which LiteLLM keeps in its
    standard logging payload and the proxy's spend logs. Nothing is mutated.
    """
    old = kwargs.get(key)
    metadata = dict(old) if isinstance(old, Mapping) else {}
    metadata["headroom"] = dict(stats)
    spend = metadata.get("spend_logs_metadata")
    spend_copy = dict(spend) if isinstance(spend, Mapping) else {}
    spend_copy["headroom"] = {
        k: stats[k] for k in ("tokens_before", "tokens_after", "tokens_saved") if k in stats
    }
    metadata["spend_logs_metadata"] = spend_copy
    out = dict(kwargs)
    out[key] = metadata
    return out


def upper_bound_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """A cheap bound no tokenizer count can exceed: every token is at least one byte."""
    try:
        size = len(json.dumps(messages, ensure_ascii=False, default=str).encode("utf-8"))
    except (TypeError, ValueError):
        return 1 << 62
    return int(size * 1.15) + 8 * len(messages) + 1


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _messages_digest(messages: Sequence[Mapping[str, Any]]) -> str | None:
    try:
        return _digest(json.dumps(messages, sort_keys=True, ensure_ascii=False, default=str))
    except (TypeError, ValueError):
        return None


class _Lru:
    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> None:
        self._data[key] = None
        self._data.move_to_end(key)
        while len(self._data) > self._size:
            self._data.popitem(last=False)

    def __contains__(self, key: str) -> bool:
        return key in self._data


class OutputMemo:
    """What this callback already sent: whole requests, rewritten texts, CCR hashes.

    A request equal to one we produced is skipped outright (two hooks on one
    call). A message holding a text we wrote is protected (an agentic
    follow-up, or the same request after LiteLLM converted its format). CCR
    hashes we issued are the only ones the retrieval loop will answer.
    """

    def __init__(self, size: int = 4096) -> None:
        self._lock = threading.Lock()
        self._requests = _Lru(size)
        self._texts = _Lru(size * 4)
        self._hashes = _Lru(size * 4)

    def is_output(self, messages: Sequence[Mapping[str, Any]]) -> bool:
        digest = _messages_digest(messages)
        with self._lock:
            return digest is not None and digest in self._requests

    def produced_indices(self, messages: Sequence[Mapping[str, Any]]) -> set[int]:
        """Indices of messages containing a text this callback wrote."""
        found: set[int] = set()
        slots = find_slots(messages)
        digests = [(s.index, _digest(s.text)) for s in slots if len(s.text) >= 16]
        with self._lock:
            for index, digest in digests:
                if digest in self._texts:
                    found.add(index)
        return found

    def record(
        self,
        original: Sequence[Mapping[str, Any]],
        output: Sequence[Mapping[str, Any]],
        ccr_hashes: Sequence[str],
    ) -> None:
        changed = {
            i
            for i, (a, b) in enumerate(zip(original, output, strict=False))
            if a is not b and a != b
        }
        texts = [
            _digest(s.text) for s in find_slots(output) if s.index in changed and len(s.text) >= 16
        ]
        digest = _messages_digest(output)
        with self._lock:
            if digest is not None:
                self._requests.add(digest)
            for text in texts:
                self._texts.add(text)
            for h in ccr_hashes:
                self._hashes.add(h)

    def issued(self, ccr_hash: str) -> bool:
        with self._lock:
            return ccr_hash in self._hashes
