"""One LiteLLM request in, its compressed kwargs out (in-process or through a Headroom server).

`RequestCompressor`, the part of `HeadroomCallback` every hook and wrapper calls,
decides whether a request is worth it, protects what must stay byte-stable (cache
breakpoints, text this callback wrote), runs the core and records the savings.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from headroom.core import (
    CCRStore,
    CompressConfig,
    CompressContext,
    CompressEvent,
    CompressionHooks,
    CompressionResult,
    compress,
    model_windows,
)
from headroom.core.messages import Message, validate_messages
from headroom.core.tokens import count_message_tokens, counter_for_model
from headroom.exceptions import ValidationError
from headroom.integrations.litellm._request import (
    OutputMemo,
    cache_breakpoint_index,
    metadata_key,
    plain_messages,
    retrieve_adapter,
    upper_bound_tokens,
    with_stats,
)
from headroom.integrations.litellm._savings import Savings
from headroom.integrations.litellm.remote import RemoteCompressor

__all__ = ["RequestCompressor", "context_window", "remote_for"]

logger = logging.getLogger("headroom.litellm")


@lru_cache(maxsize=512)
def context_window(model: str) -> int | None:
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
    return model_windows.context_window(model)


def remote_for(api_key: str | None, api_url: str | None, timeout: float) -> RemoteCompressor | None:
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


@dataclass(frozen=True)
class _Job:
    messages: list[Message]
    model: str
    call_type: str
    protected: frozenset[int]
    last_breakpoint: int  # -1: none


class RequestCompressor:
    """Compresses LiteLLM call kwargs; the settings live on `HeadroomCallback`."""

    min_tokens: int
    model_limit: int | None
    hooks: CompressionHooks | None
    config: CompressConfig
    retrieval: bool
    remote: RemoteCompressor | None
    store: CCRStore | None
    _memo: OutputMemo
    _savings: Savings

    @property
    def mode(self) -> str:
        return "remote" if self.remote is not None else "local"

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

    def _begin(self, kwargs: Mapping[str, Any], call_type: str) -> _Job | None:
        messages = plain_messages(kwargs.get("messages"))
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
        model = str(kwargs.get("model") or "")
        return _Job(list(messages), model, call_type, frozenset(protected), last_breakpoint)

    def _limit(self, model: str) -> int | None:
        return self.model_limit if self.model_limit is not None else context_window(model)

    def _local(self, job: _Job) -> CompressionResult:
        config = self.config
        if job.last_breakpoint >= 0:
            config = dataclasses.replace(config, cache_align=False)
        hooks = _Protecting(self.hooks, set(job.protected)) if job.protected else self.hooks
        return compress(
            job.messages,
            job.model or "gpt-4o",
            model_limit=self._limit(job.model),
            config=config,
            hooks=hooks,
            store=self.store,
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
        new = {**kwargs, "messages": out}
        if result.ccr_hashes and add_tool and self.retrieval:
            new = retrieve_adapter(job.call_type).add_tool(new)  # not over a caller's own tool
        stats = {
            "id": self._savings.hold(saved),
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
