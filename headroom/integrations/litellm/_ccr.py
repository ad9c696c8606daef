"""Answering `headroom_retrieve` for LiteLLM: in LiteLLM's agentic loop (async calls, the
proxy: `AgenticRetrieval`) and in the core loop the wrappers run (`ResponseAdapter`).
Both use the core adapters and one `Answerer` (only hashes we issued for this request).
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from headroom.core import CCRStore, handle_retrieve_call
from headroom.core.ccr import is_retrieve_name
from headroom.core.retrieval import RETRIEVE_ADAPTERS, ObjectAdapter, as_json
from headroom.core.retrieve_adapter import RetrieveCall, RoundsSummary, add_usage
from headroom.core.retrieve_loop import answer_calls
from headroom.integrations.litellm._compressor import RequestCompressor
from headroom.integrations.litellm._request import has_retrieve_tool
from headroom.integrations.litellm.remote import RemoteCompressor

__all__ = ["AgenticRetrieval", "Answerer", "ResponseAdapter", "retrieve_calls"]

_HASH = re.compile(r"[0-9a-f]{16}")


def _capabilities() -> tuple[bool, str | None]:
    """Whether this LiteLLM runs agentic-loop plans (else no tool is offered), and its
    converted-stream flag (else streams get no tool: they cannot be looped)."""
    try:
        from litellm.types.integrations import custom_logger as types
    except ImportError:
        return False, None
    loop = hasattr(types, "AgenticLoopPlan") and hasattr(types, "AgenticLoopRequestPatch")
    key = getattr(types, "HEADROOM_CONVERTED_STREAM_KEY", None)
    return loop, key if isinstance(key, str) and loop else None


# The flag: "a stream turned into one response for the loop; re-stream the answer".
_AGENTIC_LOOP, _CONVERTED_STREAM_KEY = _capabilities()


def _api(data: Any) -> str:
    """The wire format of a response: Anthropic Messages has a content list."""
    anthropic = isinstance(data, dict) and isinstance(data.get("content"), list)
    return "anthropic_messages" if anthropic else "openai_chat"


def retrieve_calls(response: Any) -> list[RetrieveCall]:
    """The `headroom_retrieve` calls in a chat or Anthropic Messages response."""
    data = as_json(response)
    return RETRIEVE_ADAPTERS[_api(data)].calls(data)


def _key(call: RetrieveCall) -> str:
    raw = call.arguments.get("hash")
    return raw.strip().lower() if isinstance(raw, str) else ""


class Answerer:
    """Answers the retrieve calls of one request (the core loop's `answer`).

    A hash must be one this callback issued *and* one the sent request names:
    a hash typed into a prompt by someone else is refused, since the store may
    hold other requests' originals.
    """

    def __init__(
        self,
        sent: Sequence[Any],
        issued: Callable[[str], bool],
        store: CCRStore | None,
        remote: RemoteCompressor | None,
    ) -> None:
        self.sent, self.issued, self.store, self.remote = sent, issued, store, remote

    @functools.cached_property
    def named(self) -> set[str]:
        """The hashes the sent request names (read on the first call: most requests have none)."""
        try:
            text = json.dumps(list(self.sent), ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = str(self.sent)
        return set(_HASH.findall(text))

    def __call__(self, call: RetrieveCall) -> str:
        key = _key(call)
        if key not in self.named or not self.issued(key):
            return f"headroom_retrieve error: hash {key!r} was not issued for this request"
        if self.remote is not None:
            query = call.arguments.get("query")
            return self.remote.retrieve(key, query if isinstance(query, str) and query else None)
        return handle_retrieve_call(call.arguments, store=self.store)


def _drop_retrieve_calls(response: Any) -> Any:
    """A `ModelResponse` without `headroom_retrieve` calls (made after the tool was withdrawn)."""
    for choice in getattr(response, "choices", None) or []:
        message = getattr(choice, "message", None)
        found = getattr(message, "tool_calls", None) or []
        kept = [c for c in found if not is_retrieve_name(getattr(c.function, "name", None))]
        if message is not None and len(kept) != len(found):
            message.tool_calls = kept or None
            if not kept and choice.finish_reason == "tool_calls":
                choice.finish_reason = "stop"
    return response


class ResponseAdapter(ObjectAdapter):
    """The core's chat adapter over LiteLLM `ModelResponse` objects, usage summed over rounds."""

    def __init__(self) -> None:
        super().__init__("openai_chat", _drop_retrieve_calls)

    def finish(self, response: Any, summary: RoundsSummary) -> Any:
        total = add_usage(summary.usage, self.usage(response))
        if summary.usage is not None and isinstance(total, dict):
            from litellm import Usage

            counts = ("prompt_tokens", "completion_tokens", "total_tokens")
            response.usage = Usage(**{k: int(total.get(k) or 0) for k in counts})
        return response


class AgenticRetrieval(RequestCompressor):
    """The `CustomLogger` hooks with which LiteLLM's agentic loop answers `headroom_retrieve`."""

    def answerer(self, sent: Sequence[Any]) -> Answerer:
        return Answerer(sent, self._memo.issued, self.store, self.remote)

    def answers_in_loop(self, call_type: str, kwargs: Mapping[str, Any]) -> bool:
        """Whether LiteLLM's agentic loop will let us answer `headroom_retrieve` on this path."""
        if not _AGENTIC_LOOP:
            return False
        if kwargs.get("stream"):  # streams are converted, see `_as_converted_stream`
            return call_type == "acompletion" and _CONVERTED_STREAM_KEY is not None
        return call_type in ("acompletion", "anthropic_messages")

    def _as_converted_stream(
        self, call_type: str, kwargs: dict[str, Any], compressed: bool
    ) -> dict[str, Any] | None:
        """A stream offering our tool asks for one whole response (the loop sees only those),
        re-streamed by LiteLLM; 1.110's helper also stashes `stream_options`."""
        key = _CONVERTED_STREAM_KEY
        if not (
            key is not None
            and call_type == "acompletion"
            and self.retrieval
            and kwargs.get("stream")
            and has_retrieve_tool(kwargs.get("tools"))
            and not kwargs.get(key)
            and (compressed or self._memo.is_output(kwargs["messages"]))
        ):
            return None
        try:
            from litellm.types.integrations.custom_logger import (  # type: ignore[attr-defined,unused-ignore]
                HEADROOM_INTERCEPTION_PREFIX,
                as_converted_stream,
            )
        except ImportError:
            return {**kwargs, "stream": False, key: True}
        return dict(as_converted_stream(kwargs, HEADROOM_INTERCEPTION_PREFIX))

    async def async_should_run_agentic_loop(
        self,
        response: Any,
        model: str,
        messages: list[Any],
        tools: list[Any] | None,
        stream: bool,
        custom_llm_provider: str,
        kwargs: dict[str, Any],
    ) -> tuple[bool, dict[str, Any]]:
        """Run the loop when the model called `headroom_retrieve` about content we stubbed."""
        if not self.retrieval or not has_retrieve_tool(tools):
            return False, {}
        calls = retrieve_calls(response)
        if not any(self._memo.issued(_key(call)) for call in calls):
            return False, {}  # the caller's own tool loop answers it
        return True, {"tool_calls": [{"id": c.id, "arguments": c.arguments} for c in calls]}

    async def async_build_agentic_loop_plan(
        self,
        tools: dict[str, Any],
        model: str,
        messages: list[Any],
        response: Any,
        anthropic_messages_provider_config: Any,
        anthropic_messages_optional_request_params: dict[str, Any],
        logging_obj: Any,
        stream: bool,
        kwargs: dict[str, Any],
    ) -> Any:
        """Answer the retrieve calls and ask LiteLLM for the follow-up turn."""
        from litellm.types.integrations.custom_logger import (
            AgenticLoopPlan,
            AgenticLoopRequestPatch,
        )

        calls = [RetrieveCall(str(c["id"]), c["arguments"]) for c in tools.get("tool_calls", [])]
        answers = await asyncio.to_thread(answer_calls, calls, None, self.answerer(messages))
        data = as_json(response)
        body = RETRIEVE_ADAPTERS[_api(data)].follow_up({"messages": list(messages)}, data, answers)
        params = dict(anthropic_messages_optional_request_params or {})
        max_tokens = params.pop("max_tokens", None) or kwargs.get("max_tokens")
        return AgenticLoopPlan(
            run_agentic_loop=True,
            request_patch=AgenticLoopRequestPatch(
                messages=body["messages"], max_tokens=max_tokens, optional_params=params
            ),
            metadata={"tool_type": "headroom_retrieve"},
        )
