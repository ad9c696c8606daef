"""The wrapper's runs as tracers see them: one LLM run per call, a child run per round.

Each provider call (round) of the retrieve loop is a child run of the
wrapper's run for tracers (LangSmith and others), so a trace shows every call
with what it was sent and what came back. Handlers that stream tokens to the
caller (`astream_events`, LangGraph's messages mode) or count usage see the
wrapper's run alone: it carries the answer and the usage of all rounds, so a
retrieval round is never streamed to the caller, nor counted twice. Also here:
when LangChain's own per-call bookkeeping can be skipped.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from langchain_core.caches import BaseCache
from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    BaseCallbackHandler,
    CallbackManager,
    CallbackManagerForLLMRun,
)
from langchain_core.globals import get_debug, get_llm_cache
from langchain_core.outputs import ChatResult
from langchain_core.runnables import RunnableConfig, ensure_config
from langchain_core.tracers._streaming import _StreamingCallbackHandler
from langchain_core.tracers.base import BaseTracer
from langchain_core.utils.env import env_var_is_set
from langchain_core.utils.utils import LC_ID_PREFIX

from headroom.integrations.langchain.calls import Prepared, start_stats

if TYPE_CHECKING:
    from headroom.integrations.langchain.chat_model import HeadroomChatModel

__all__ = [
    "RunManager",
    "annotate_trace",
    "bookkeeping_needed",
    "for_stream",
    "round_callbacks",
    "with_run",
    "with_run_ids",
]

_HOOKS: list[Any] | None
try:  # where LangChain's `configure` finds handlers no caller passed
    from langchain_core.tracers.context import _configure_hooks, _tracing_v2_is_enabled

    _HOOKS = _configure_hooks
except ImportError:  # pragma: no cover (another langchain-core)
    _HOOKS = None

logger = logging.getLogger("headroom")

RunManager = CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None

#: The wrapper's run while LangChain's own `_generate_with_cache` streams through
#: `_stream`, which it calls without the run manager.
_RUN: ContextVar[tuple[Any, RunManager]] = ContextVar("headroom_run", default=(None, None))


def bookkeeping_needed(
    llm: HeadroomChatModel, run_manager: RunManager, kwargs: dict[str, Any], async_api: bool
) -> bool:
    """Whether LangChain's own `_generate_with_cache` must run for the wrapper.

    It serves the wrapper's `cache=` and `rate_limiter=`, implicit streaming
    (`astream_events`, v2 stream handlers) and v1 output; without any of them
    it only costs time (a signature inspection per call), so it is skipped.
    """
    cache = llm.cache
    if llm.rate_limiter is not None or cache is True or isinstance(cache, BaseCache):
        return True
    if (cache is None and get_llm_cache() is not None) or llm.output_version == "v1":
        return True
    handlers = run_manager.handlers if run_manager is not None else ()
    streaming = kwargs.get("stream") or llm.streaming or llm.wrapped_model.__dict__.get("streaming")
    if not handlers and not streaming:
        return False  # nothing could ask LangChain to stream (the checks below are slow)
    if llm._should_stream(async_api=async_api, run_manager=run_manager, **kwargs):
        return True
    protocol = getattr(llm, "_should_use_protocol_streaming", None)  # langchain-core >= 1.4
    return bool(protocol and protocol(async_api=async_api, run_manager=run_manager, **kwargs))


@contextmanager
def with_run(llm: HeadroomChatModel, run_manager: RunManager) -> Iterator[None]:
    """Around LangChain's own `_generate_with_cache`: `_stream` finds the run here."""
    token = _RUN.set((llm, run_manager))
    try:
        yield
    finally:
        _RUN.reset(token)


def with_run_ids(result: ChatResult, run_manager: RunManager) -> ChatResult:
    """Message ids from the run, where the model gave none (as LangChain's own path does)."""
    for index, generation in enumerate(result.generations):
        if run_manager is not None and generation.message.id is None:
            generation.message.id = f"{LC_ID_PREFIX}-{run_manager.run_id}-{index}"
    return result


def _children(source: Any, parent: Any, async_api: bool) -> Any:
    """Callbacks for child runs of `parent`: the tracers among `source`'s handlers, or None."""
    tracers: list[BaseCallbackHandler] = [
        h
        for h in source.handlers
        if isinstance(h, BaseTracer) and not isinstance(h, _StreamingCallbackHandler)
    ]
    if not tracers:
        return None
    children = (AsyncCallbackManager if async_api else CallbackManager)(
        tracers, tracers, parent_run_id=parent
    )
    children.add_tags(source.inheritable_tags)
    children.add_metadata(source.inheritable_metadata)
    return children


def round_callbacks(llm: HeadroomChatModel, run_manager: RunManager, prepared: Any) -> Any:
    """Callbacks that make one provider call a child run, or None without a tracer."""
    if run_manager is None:
        owner, run_manager = _RUN.get()
        if owner is not llm or run_manager is None:
            return prepared.callbacks  # set up by `stream` (LangChain keeps that run to itself)
    async_api = isinstance(run_manager, AsyncCallbackManagerForLLMRun)
    return _children(run_manager, run_manager.run_id, async_api)


def _may_have_handlers(llm: HeadroomChatModel, config: RunnableConfig) -> bool:
    """False only when no source of callbacks is set (configuring a run costs ~40 µs).

    The sources are LangChain's own: the config's and the model's callbacks,
    verbose/debug, LangSmith tracing (environment or context) and the context
    hooks (`collect_runs` and others).
    """
    if config.get("callbacks") or llm.callbacks or llm.verbose or get_debug():
        return True
    if _HOOKS is None or _tracing_v2_is_enabled():
        return True  # (another langchain-core: configure to find out)
    return any(var.get() is not None or (env and env_var_is_set(env)) for var, _, _, env in _HOOKS)


def for_stream(
    llm: HeadroomChatModel, config: RunnableConfig | None, prepared: Prepared, async_api: bool
) -> tuple[RunnableConfig, Prepared]:
    """A stream's config (stats in its metadata, its run id fixed) and its prepared request.

    LangChain's `stream` keeps its run manager to itself, so the run's handlers
    are worked out here as it does, for the rounds' child runs of that run.
    """
    config = ensure_config(config)
    metadata = {**(config.get("metadata") or {}), "headroom": start_stats(prepared)}
    config = {**config, "metadata": metadata}
    if not _may_have_handlers(llm, config):
        return config, prepared
    configure = AsyncCallbackManager.configure if async_api else CallbackManager.configure
    manager = configure(
        config.get("callbacks"),
        llm.callbacks,
        llm.verbose,
        config.get("tags"),
        llm.tags,
        config.get("metadata"),
        llm.metadata,
    )
    run_id = config.get("run_id") or uuid.uuid4()
    if (callbacks := _children(manager, run_id, async_api)) is None:
        return config, prepared
    return {**config, "run_id": run_id}, replace(prepared, callbacks=callbacks)


def annotate_trace(callbacks: Any, stats: dict[str, Any]) -> None:
    """Put the final stats in the wrapper's run, for the tracers its rounds report to."""
    if callbacks is None:
        return
    for handler in callbacks.handlers:
        run = handler.run_map.get(str(callbacks.parent_run_id))
        if run is None:
            continue
        try:
            run.extra.setdefault("metadata", {})["headroom"] = dict(stats)
        except (AttributeError, TypeError):  # a tracer with its own run type
            logger.debug("headroom: could not annotate run of %r", handler)
