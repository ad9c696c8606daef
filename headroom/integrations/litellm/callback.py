"""`HeadroomCallback`: compress every chat request LiteLLM sends, on every hook that can change it.

LiteLLM has no single pre-request hook. Measured on litellm 1.106 from the
provider's side (see docs/litellm.md):

* SDK `acompletion`, `Router.acompletion`, `litellm.anthropic.messages.acreate`:
  `async_pre_call_deployment_hook` (returns new kwargs; sees `messages=` only).
* The proxy: `async_pre_call_hook`, then the deployment hook again.
* `litellm.anthropic.messages`: also `async_pre_request_hook` (in-place only).
* Sync `litellm.completion`, `Router.completion`, `batch_completion`:
  `log_pre_api_call`, whose ``additional_args["complete_input_dict"]`` is the
  very body the provider code sends next (HTTP providers only; no retrieval).

Several hooks fire for one call, and the core is not idempotent on its own
output, so the callback remembers what it produced and never compresses it
again. When content is stubbed, the `headroom_retrieve` tool is added and the
model's calls to it are answered in LiteLLM's agentic loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from headroom.core import (
    CCRStore,
    CompressConfig,
    CompressContext,
    CompressEvent,
    CompressionHooks,
    CompressionResult,
    compress,
)
from headroom.core import window as _window
from headroom.core.messages import Message, validate_messages
from headroom.core.tokens import count_message_tokens, counter_for_model
from headroom.exceptions import ValidationError
from headroom.integrations.litellm._ccr import (
    RetrieveCall,
    allowed_calls,
    answer_calls,
    followup_messages,
    refusal,
    retrieve_calls,
)
from headroom.integrations.litellm._request import (
    CHAT_CALL_TYPES,
    OutputMemo,
    cache_breakpoint_index,
    call_type_name,
    has_retrieve_tool,
    metadata_key,
    tool_shape,
    upper_bound_tokens,
    with_retrieve_tool,
    with_stats,
)
from headroom.integrations.litellm.remote import RemoteCompressor

__all__ = ["HeadroomCallback"]

logger = logging.getLogger("headroom.litellm")


def _litellm_capabilities() -> tuple[bool, str | None]:
    """Whether this LiteLLM runs agentic-loop plans, and its converted-stream flag.

    Both arrived in recent releases. Without the loop nothing would answer a
    `headroom_retrieve` call, so the tool is not offered; without the flag a
    stream cannot be turned into one response and back, so streams get no tool.
    """
    try:
        from litellm.types.integrations import custom_logger as types
    except ImportError:
        return False, None
    loop = hasattr(types, "AgenticLoopPlan") and hasattr(types, "AgenticLoopRequestPatch")
    key = getattr(types, "HEADROOM_CONVERTED_STREAM_KEY", None)
    return loop, key if isinstance(key, str) and loop else None


# LiteLLM's flag for "the callback turned a stream into a single response so the
# agentic loop can inspect it; re-wrap the final answer as a stream".
_AGENTIC_LOOP, _CONVERTED_STREAM_KEY = _litellm_capabilities()


def _as_converted_stream(kwargs: Mapping[str, Any], key: str) -> dict[str, Any]:
    """`kwargs` asking for one whole response that LiteLLM re-wraps as a stream.

    LiteLLM 1.110 also stashes `stream_options` (invalid without `stream`) and
    restores it for the caller: use its helper when it has one.
    """
    try:
        from litellm.types.integrations.custom_logger import (  # type: ignore[attr-defined,unused-ignore]
            HEADROOM_INTERCEPTION_PREFIX,
            as_converted_stream,
        )
    except ImportError:
        return {**kwargs, "stream": False, key: True}
    return dict(as_converted_stream(kwargs, HEADROOM_INTERCEPTION_PREFIX))


@lru_cache(maxsize=512)
def _context_window(model: str) -> int | None:
    """The model's input window from LiteLLM's (local) cost map, else the core's table."""
    try:
        import litellm

        cost = getattr(litellm, "model_cost", None) or {}
    except Exception:
        cost = {}
    for key in (model, model.split("/", 1)[-1], model.rsplit("/", 1)[-1]):
        info = cost.get(key) if isinstance(cost, Mapping) else None
        if isinstance(info, Mapping):
            size = info.get("max_input_tokens") or info.get("max_tokens")
            if isinstance(size, int) and size > 0:
                return size
    return _window.context_window(model)


def _plain(messages: Any) -> list[Message] | None:
    """The messages as plain dicts; SDK message objects (e.g. a previous response's
    `choices[0].message`, appended to the history) become dicts. None if impossible."""
    if not isinstance(messages, list) or not messages:
        return None
    if all(isinstance(m, dict) for m in messages):
        return messages
    out: list[Message] = []
    for m in messages:
        if isinstance(m, Mapping):
            out.append(dict(m))
        elif callable(getattr(m, "model_dump", None)):
            dumped = m.model_dump(exclude_none=True)
            if not isinstance(dumped, dict):
                return None
            out.append(dumped)
        else:
            return None
    return out


# Providers whose request body is signed before `log_pre_api_call` runs: a body
# changed there would not reach the wire (or would break the signature).
_SIGNED_BODY_PROVIDERS = frozenset({"bedrock", "sagemaker", "sagemaker_chat"})
# Headers of an AWS SigV4-signed request, for any other provider that signs.
_SIGNATURE_HEADERS = frozenset({"x-amz-date", "x-amz-content-sha256", "x-amz-security-token"})


def _body_is_signed(details: Mapping[str, Any]) -> bool:
    if str(details.get("custom_llm_provider") or "") in _SIGNED_BODY_PROVIDERS:
        return True
    extra = details.get("additional_args")
    headers = extra.get("headers") if isinstance(extra, Mapping) else None
    return isinstance(headers, Mapping) and any(
        str(k).lower() in _SIGNATURE_HEADERS for k in headers
    )


def _is_sync_chat(details: Mapping[str, Any]) -> bool:
    """Whether LiteLLM's call details are for a sync chat completion."""
    call_type = str(details.get("call_type") or "").rsplit(".", 1)[-1]
    extra = details.get("additional_args")
    params = details.get("litellm_params")
    return (
        call_type == "completion"
        and not (isinstance(extra, Mapping) and extra.get("acompletion"))
        and not (isinstance(params, Mapping) and params.get("acompletion"))
    )


def _hash_query(call: RetrieveCall) -> tuple[str, str | None]:
    args = call["arguments"]
    query = args.get("query")
    if not isinstance(query, str) or not query:
        query = None
    return str(args.get("hash", "")).strip().lower(), query


class _Protecting(CompressionHooks):
    """The caller's hooks plus indices that must not be rewritten."""

    def __init__(self, inner: CompressionHooks | None, protected: set[int]) -> None:
        self._inner = inner or CompressionHooks()
        self._protected = protected

    def pre_compress(self, messages: list[Message], ctx: CompressContext) -> list[Message]:
        return self._inner.pre_compress(messages, ctx)

    def compute_biases(self, messages: list[Message], ctx: CompressContext) -> dict[int, float]:
        return self._inner.compute_biases(messages, ctx)

    def protect_messages(self, messages: list[Message], ctx: CompressContext) -> set[int]:
        return set(self._inner.protect_messages(messages, ctx) or set()) | self._protected

    def post_compress(self, event: CompressEvent) -> None:
        self._inner.post_compress(event)


class _Pinned(CCRStore):
    """The caller's store, always truthy: the core falls back to the default store
    when handed one that is falsy (an empty `InMemoryStore` has ``len() == 0``)."""

    def __init__(self, inner: CCRStore) -> None:
        self.inner = inner

    def put(self, key: str, original: str) -> None:
        self.inner.put(key, original)

    def get(self, key: str) -> str | None:
        return self.inner.get(key)

    def close(self) -> None:
        self.inner.close()


#: Compressions awaiting LiteLLM's success or failure event; older ones are
#: dropped (a request LiteLLM never reported on, e.g. a cancelled stream).
_MAX_PENDING = 4096


def _remote(api_key: str | None, api_url: str | None, timeout: float) -> RemoteCompressor | None:
    """Remote mode only against a server the user named: a key alone names none."""
    url = api_url or os.environ.get("HEADROOM_API_URL") or None
    key = api_key or os.environ.get("HEADROOM_API_KEY") or None
    if url is not None:
        return RemoteCompressor(url, key, timeout=timeout)
    if api_key:
        raise ValueError(
            "HeadroomCallback(api_key=...) needs the Headroom server it is for: pass "
            "api_url=... or set HEADROOM_API_URL (e.g. http://127.0.0.1:8787 for `headroom proxy`)"
        )
    if key:
        logger.warning(
            "headroom: HEADROOM_API_KEY is set but HEADROOM_API_URL is not, so nothing is sent to a "
            "server and compression runs in-process; set HEADROOM_API_URL to use a Headroom server"
        )
    return None


def _metadata_dicts(kwargs: Any) -> list[Mapping[str, Any]]:
    """Every place LiteLLM may carry a call's metadata in a logging event's kwargs."""
    found: list[Mapping[str, Any]] = []
    if not isinstance(kwargs, Mapping):
        return found
    params = kwargs.get("litellm_params")
    for holder in (params, kwargs):
        if isinstance(holder, Mapping):
            for key in ("metadata", "litellm_metadata"):
                value = holder.get(key)
                if isinstance(value, Mapping):
                    found.append(value)
    return found


def _compression_id(kwargs: Any) -> str | None:
    for metadata in _metadata_dicts(kwargs):
        stats = metadata.get("headroom")
        if isinstance(stats, Mapping) and isinstance(stats.get("id"), str):
            return str(stats["id"])
    return None


@dataclass(frozen=True)
class _Job:
    messages: list[Message]
    model: str
    call_type: str
    protected: frozenset[int]
    last_breakpoint: int  # -1: none


class HeadroomCallback(CustomLogger):  # type: ignore[misc]
    """A LiteLLM callback that compresses chat requests before they reach the provider.

    Args:
        min_tokens: Requests smaller than this (in tokens) are sent untouched.
        model_limit: Context window to fit into; defaults to the model's input
            window from LiteLLM's local cost map (or the core's table).
        hooks: A `CompressionHooks` passed to every `compress()` call.
        api_key: Remote mode: key for a Headroom server (else ``HEADROOM_API_KEY``).
        api_url: Remote mode: server base URL (else ``HEADROOM_API_URL``). Remote
            mode is on when either is set; otherwise compression runs in-process.
        config: `CompressConfig` for local mode.
        store: CCR store for local mode (the process default if omitted).
        retrieval: Add `headroom_retrieve` when content was stubbed and answer
            the model's calls to it in LiteLLM's agentic loop (from `store`, or
            from the server's `/v1/retrieve` in remote mode).
        timeout: Remote mode: seconds before failing open.
    """

    def __init__(
        self,
        min_tokens: int = 500,
        model_limit: int | None = None,
        hooks: CompressionHooks | None = None,
        api_key: str | None = None,
        api_url: str | None = None,
        *,
        config: CompressConfig | None = None,
        store: CCRStore | None = None,
        retrieval: bool = True,
        timeout: float = 5.0,
    ) -> None:
        super().__init__()
        self.min_tokens = int(min_tokens)
        self.model_limit = model_limit
        self.hooks = hooks
        self.config = config or CompressConfig()
        self.store = store
        self._store: CCRStore | None = _Pinned(store) if store is not None else None
        self.retrieval = retrieval
        self.remote: RemoteCompressor | None = _remote(api_key, api_url, timeout)
        self._memo = OutputMemo()
        self._lock = threading.Lock()
        self._saved = 0
        # compression id -> tokens saved, settled by LiteLLM's success/failure events
        self._pending: OrderedDict[str, int] = OrderedDict()
        self._warned_positional = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Keep subclasses' proxy pre-call hook running.

        LiteLLM's proxy calls `async_pre_call_hook` only when the callback's own
        class defines it (``"async_pre_call_hook" in vars(cls)``); an inherited
        one is skipped and compression would move after the Router's checks.
        """
        super().__init_subclass__(**kwargs)
        if "async_pre_call_hook" not in vars(cls):
            cls.async_pre_call_hook = cls.async_pre_call_hook  # type: ignore[method-assign]

    # ------------------------------------------------------------------ stats

    @property
    def total_tokens_saved(self) -> int:
        """Tokens saved over every request that succeeded (thread-safe).

        Counted once per request when LiteLLM reports its success, so retries,
        fallbacks and failed calls add nothing. LiteLLM reports sync calls from
        its logging thread: the figure can trail a sync call by a few ms.
        """
        with self._lock:
            return self._saved

    def confirm(self, kwargs: Mapping[str, Any]) -> None:
        """Count the savings of a request sent with `kwargs` (from `compress_request`) that succeeded.

        LiteLLM's success event does this for a registered callback; the
        wrappers call it for one that is not. Counting is once per request.
        """
        self._settle(kwargs, True)

    def _settle(self, kwargs: Any, succeeded: bool) -> None:
        ticket = _compression_id(kwargs)
        if ticket is None:
            return
        with self._lock:
            saved = self._pending.pop(ticket, None)
            if saved is not None and succeeded:
                self._saved += saved

    def log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._settle(kwargs, True)

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._settle(kwargs, True)

    def log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._settle(kwargs, False)

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._settle(kwargs, False)

    @property
    def mode(self) -> str:
        return "remote" if self.remote is not None else "local"

    # ------------------------------------------------------------ the request

    def _begin(self, kwargs: Mapping[str, Any], call_type: str) -> _Job | None:
        messages = _plain(kwargs.get("messages"))
        if messages is None:
            return None
        try:
            validate_messages(messages)
        except ValidationError:
            return None  # not chat messages: send as is
        if upper_bound_tokens(messages) < self.min_tokens or self._memo.is_output(messages):
            return None
        last_breakpoint = cache_breakpoint_index(messages)
        protected = self._memo.produced_indices(messages) | set(range(last_breakpoint + 1))
        if len(protected) >= len(messages):
            return None
        return _Job(
            list(messages),
            str(kwargs.get("model") or ""),
            call_type,
            frozenset(protected),
            last_breakpoint,
        )

    def _limit(self, model: str) -> int | None:
        return self.model_limit if self.model_limit is not None else _context_window(model)

    def _local(self, job: _Job) -> CompressionResult:
        config = (
            self.config
            if job.last_breakpoint < 0
            else dataclasses.replace(self.config, cache_align=False)
        )
        hooks: CompressionHooks | None = (
            _Protecting(self.hooks, set(job.protected)) if job.protected else self.hooks
        )
        return compress(
            job.messages,
            job.model or "gpt-4o",
            model_limit=self._limit(job.model),
            config=config,
            hooks=hooks,
            store=self._store,
        )

    def _finish(
        self, job: _Job, result: CompressionResult | None, kwargs: Mapping[str, Any], add_tool: bool
    ) -> dict[str, Any] | None:
        if result is None or any(t.startswith("fail_open") for t in result.transforms_applied):
            return None
        out = list(result.messages)
        tokens_after = result.tokens_after
        if len(out) == len(job.messages) and job.protected:
            restored = [job.messages[i] if i in job.protected else m for i, m in enumerate(out)]
            if restored != out:  # only a remote server can touch what we protect
                out = restored
                count = counter_for_model(job.model or "gpt-4o")
                tokens_after = sum(count_message_tokens(m, count) for m in out)
        if result.tokens_before < self.min_tokens or out == job.messages:
            return None
        saved = max(0, result.tokens_before - tokens_after)
        self._memo.record(job.messages, out, result.ccr_hashes)
        ticket = uuid.uuid4().hex
        with self._lock:
            self._pending[ticket] = saved
            while len(self._pending) > _MAX_PENDING:
                self._pending.popitem(last=False)
        new = dict(kwargs)
        new["messages"] = out
        if result.ccr_hashes and add_tool and self.retrieval:
            new["tools"] = with_retrieve_tool(kwargs.get("tools"), tool_shape(job.call_type))
        stats = {
            "id": ticket,
            "mode": self.mode,
            "tokens_before": result.tokens_before,
            "tokens_after": tokens_after,
            "tokens_saved": saved,
            "compression_ratio": round(saved / result.tokens_before, 6)
            if result.tokens_before
            else 0.0,
            "transforms_applied": list(result.transforms_applied),
            "ccr_hashes": list(result.ccr_hashes),
        }
        return with_stats(new, metadata_key(kwargs, job.call_type), stats)

    def _can_answer(self, call_type: str, kwargs: Mapping[str, Any]) -> bool:
        """Whether LiteLLM's agentic loop will let us answer `headroom_retrieve` on this path."""
        if not _AGENTIC_LOOP:
            return False
        if kwargs.get("stream"):
            # streams are converted, see `async_pre_call_deployment_hook`
            return call_type == "acompletion" and _CONVERTED_STREAM_KEY is not None
        return call_type in ("acompletion", "anthropic_messages")

    def compress_request(
        self, kwargs: Mapping[str, Any], call_type: str = "completion", *, add_tool: bool = False
    ) -> dict[str, Any] | None:
        """New kwargs with compressed `messages` (and metadata), or None to send as is. Blocking.

        Args:
            kwargs: LiteLLM call kwargs holding `model` and `messages`.
            call_type: "completion", "acompletion" or "anthropic_messages".
            add_tool: Add `headroom_retrieve` if content was stubbed (only when
                the caller answers it).
        """
        job = self._begin(kwargs, call_type)
        if job is None:
            return None
        try:
            result = (
                self.remote.compress(job.messages, job.model, self.model_limit)
                if self.remote
                else self._local(job)
            )
        except Exception:
            logger.warning(
                "headroom: compression failed; sending the request uncompressed", exc_info=True
            )
            return None
        return self._finish(job, result, kwargs, add_tool)

    async def acompress_request(
        self, kwargs: Mapping[str, Any], call_type: str = "acompletion", *, add_tool: bool = False
    ) -> dict[str, Any] | None:
        """`compress_request` off the event loop (local mode runs in a worker thread)."""
        job = self._begin(kwargs, call_type)
        if job is None:
            return None
        try:
            if self.remote is not None:
                result = await self.remote.acompress(job.messages, job.model, self.model_limit)
            else:
                result = await asyncio.to_thread(self._local, job)
        except Exception:
            logger.warning(
                "headroom: compression failed; sending the request uncompressed", exc_info=True
            )
            return None
        return self._finish(job, result, kwargs, add_tool)

    # ------------------------------------------------------------ LiteLLM hooks

    def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
        """Sync `completion`, `Router.completion`, `batch_completion`: rewrite the body in place.

        LiteLLM's `Logging.pre_call` hands every callback its live call details;
        ``additional_args["complete_input_dict"]`` is the dict the provider code
        serialises and sends right after (OpenAI-compatible and Anthropic HTTP
        providers). Async calls also pass here: the deployment hook already
        compressed them, so they are skipped. No `headroom_retrieve` tool: no
        agentic loop runs on sync calls to answer it.
        """
        if not isinstance(kwargs, dict) or not _is_sync_chat(kwargs) or _body_is_signed(kwargs):
            return
        extra = kwargs.get("additional_args")
        body = extra.get("complete_input_dict") if isinstance(extra, dict) else None
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return  # e.g. a provider that already serialised (and signed) its body
        request = {"model": str(body.get("model") or model or ""), "messages": body["messages"]}
        new = self.compress_request(request, "completion")
        if new is None:
            return
        body["messages"] = new["messages"]
        params = kwargs.get("litellm_params")
        if isinstance(params, dict):
            key = (
                "litellm_metadata"
                if "metadata" not in params and isinstance(params.get("litellm_metadata"), Mapping)
                else "metadata"
            )
            params.update(with_stats(params, key, new["metadata"]["headroom"]))

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any]:
        """Proxy only: runs first on `/v1/chat/completions` and `/v1/messages`."""
        name = call_type_name(call_type)
        if name not in CHAT_CALL_TYPES:
            return data
        new = await self.acompress_request(data, name, add_tool=self._can_answer(name, data))
        return new if new is not None else data

    async def async_pre_call_deployment_hook(
        self, kwargs: dict[str, Any], call_type: Any
    ) -> dict[str, Any] | None:
        """SDK async calls, the Router and the proxy: return the kwargs to send."""
        name = call_type_name(call_type)
        if name not in CHAT_CALL_TYPES:
            return None
        if "messages" not in kwargs:
            if not self._warned_positional:
                self._warned_positional = True
                logger.warning(
                    "headroom: messages passed positionally are not visible to LiteLLM callbacks and are "
                    "sent uncompressed; pass messages=... (or use headroom.integrations.litellm.acompletion)"
                )
            return None
        new = await self.acompress_request(kwargs, name, add_tool=self._can_answer(name, kwargs))
        effective = new if new is not None else kwargs
        if (
            _CONVERTED_STREAM_KEY is not None
            and name == "acompletion"
            and self.retrieval
            and effective.get("stream")
            and has_retrieve_tool(effective.get("tools"))
            and not effective.get(_CONVERTED_STREAM_KEY)
            and (new is not None or self._memo.is_output(effective["messages"]))
        ):
            # LiteLLM's agentic loop only sees whole responses: ask for one and let
            # LiteLLM re-wrap the final answer as a stream for the caller.
            return _as_converted_stream(effective, _CONVERTED_STREAM_KEY)
        return new

    async def async_pre_request_hook(
        self, model: str, messages: list[Any], kwargs: dict[str, Any]
    ) -> dict[str, Any] | None:
        """`litellm.anthropic.messages`: LiteLLM ignores returned messages, so edit in place.

        The list is LiteLLM's own normalized copy (never the caller's), and its
        items are replaced, not modified. Reached with uncompressed messages only
        when they bypassed the deployment hook (positional `litellm.anthropic_messages`).
        """
        request = {
            "model": model,
            "messages": messages,
            "tools": kwargs.get("tools"),
            "stream": kwargs.get("stream"),
        }
        new = await self.acompress_request(
            request, "anthropic_messages", add_tool=not kwargs.get("stream")
        )
        if new is None:
            return None
        messages[:] = new["messages"]
        out = dict(kwargs)
        if "tools" in new and new["tools"] is not None:
            out["tools"] = new["tools"]
        out["litellm_metadata"] = new["litellm_metadata"]
        return out

    # -------------------------------------------------------- CCR agentic loop

    def retrieval_followup(self, response: Any, sent: list[Any]) -> list[Any] | None:
        """The next turn's messages if `response` calls `headroom_retrieve`, else None.

        Answers only hashes this callback issued and that `sent` names.
        """
        calls = retrieve_calls(response)
        if not any(self._memo.issued(_hash_query(call)[0]) for call in calls):
            return None  # none of them is about content we stubbed
        if self.remote is None:
            answers = answer_calls(calls, sent, self._memo.issued, self._store)
        else:
            remote = self.remote
            answers = [
                (call, remote.retrieve(*_hash_query(call)) if ok else refusal(call))
                for call, ok in zip(
                    calls, allowed_calls(calls, sent, self._memo.issued), strict=True
                )
            ]
        return followup_messages(response, sent, answers)

    async def _aanswer(
        self, calls: list[RetrieveCall], sent: list[Any]
    ) -> list[tuple[RetrieveCall, str]]:
        if self.remote is None:
            return answer_calls(calls, sent, self._memo.issued, self._store)
        answers: list[tuple[RetrieveCall, str]] = []
        for call, ok in zip(calls, allowed_calls(calls, sent, self._memo.issued), strict=True):
            answers.append(
                (call, await self.remote.aretrieve(*_hash_query(call)) if ok else refusal(call))
            )
        return answers

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
        """Run the loop when the model called `headroom_retrieve` (a tool we added)."""
        if not self.retrieval or not has_retrieve_tool(tools):
            return False, {}
        calls = retrieve_calls(response)
        if not any(self._memo.issued(_hash_query(call)[0]) for call in calls):
            return False, {}  # not about content we stubbed: the caller's own tool loop answers it
        return True, {"tool_calls": calls}

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
        """Answer the retrieve calls from the CCR store and ask LiteLLM for the follow-up turn."""
        from litellm.types.integrations.custom_logger import (
            AgenticLoopPlan,
            AgenticLoopRequestPatch,
        )

        answers = await self._aanswer(list(tools.get("tool_calls", [])), messages)
        params = dict(anthropic_messages_optional_request_params or {})
        max_tokens = params.pop("max_tokens", None) or kwargs.get("max_tokens")
        return AgenticLoopPlan(
            run_agentic_loop=True,
            request_patch=AgenticLoopRequestPatch(
                messages=followup_messages(response, messages, answers),
                max_tokens=max_tokens,
                optional_params=params,
            ),
            metadata={"tool_type": "headroom_retrieve"},
        )

    def __repr__(self) -> str:
        return f"HeadroomCallback(mode={self.mode!r}, min_tokens={self.min_tokens}, model_limit={self.model_limit})"
