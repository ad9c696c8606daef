"""`HeadroomCallback`: compress every chat request LiteLLM sends, on every hook that can change it.

LiteLLM has no single pre-request hook. Measured from the provider's side
(see docs/litellm.md):

* SDK `acompletion`, `Router.acompletion`, `litellm.anthropic.messages.acreate`:
  `async_pre_call_deployment_hook` (returns new kwargs; sees `messages=` only).
* The proxy: `async_pre_call_hook`, then the deployment hook again.
* `litellm.anthropic.messages`: also `async_pre_request_hook` (in-place only).
* Sync `litellm.completion`, `Router.completion`, `batch_completion`:
  `log_pre_api_call` (`_sync_body`; HTTP providers only, no retrieval).

Several hooks fire for one call: the callback remembers what it produced and
never compresses it again. Each hook converts LiteLLM's arguments in, calls
`RequestCompressor` (`_compressor`) and converts out; retrieval is `_ccr`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from headroom.core import CCRStore, CompressConfig, CompressionHooks
from headroom.core.tokens import count_message_tokens, counter_for_model
from headroom.integrations.litellm._ccr import AgenticRetrieval
from headroom.integrations.litellm._compressor import context_window, remote_for
from headroom.integrations.litellm._request import (
    CHAT_CALL_TYPES,
    OutputMemo,
    call_type_name,
    plain_messages,
    upper_bound_tokens,
)
from headroom.integrations.litellm._savings import Savings
from headroom.integrations.litellm._sync_body import rewrite_sync_body

__all__ = ["HeadroomCallback"]

logger = logging.getLogger("headroom.litellm")


def _smallest_window(deployments: Any) -> tuple[int, str] | None:
    """The smallest input window the Router's deployments declare (or the cost map knows)."""
    found: list[tuple[int, str]] = []
    for deployment in deployments if isinstance(deployments, list) else []:
        params = deployment.get("litellm_params") or {} if isinstance(deployment, Mapping) else {}
        info = deployment.get("model_info") or {} if isinstance(deployment, Mapping) else {}
        model = str(params.get("model") or "")
        size = info.get("max_input_tokens") or (context_window(model) if model else None)
        if isinstance(size, int) and size > 0:
            found.append((size, model))
    return min(found) if found else None


class HeadroomCallback(AgenticRetrieval, CustomLogger):  # type: ignore[misc]
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
        self.retrieval = retrieval
        self.remote = remote_for(api_key, api_url, timeout)
        self._memo = OutputMemo()
        self._savings = Savings()
        self._warned_positional = False
        self._warned_router = False

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
        return self._savings.total

    def confirm(self, kwargs: Mapping[str, Any]) -> None:
        """Count the savings of a request sent with `kwargs` (from `compress_request`) that succeeded.

        LiteLLM's success event does this for a registered callback; the
        wrappers call it for one that is not. Counting is once per request.
        """
        self._savings.settle(kwargs, True)

    def log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._savings.settle(kwargs, True)

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._savings.settle(kwargs, True)

    def log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._savings.settle(kwargs, False)

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._savings.settle(kwargs, False)

    # ------------------------------------------------------------ LiteLLM hooks

    def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
        """Sync `completion`, `Router.completion`, `batch_completion`: rewrite the body in place
        (async calls pass here too and are skipped). No tool: no loop runs to answer it."""
        rewrite_sync_body(model, kwargs, self.compress_request)

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> dict[str, Any]:
        """Proxy only: runs first on `/v1/chat/completions` and `/v1/messages`."""
        name = call_type_name(call_type)
        if name not in CHAT_CALL_TYPES:
            return data
        new = await self.acompress_request(data, name, add_tool=self.answers_in_loop(name, data))
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
        new = await self.acompress_request(
            kwargs, name, add_tool=self.answers_in_loop(name, kwargs)
        )
        converted = self._as_converted_stream(name, new or kwargs, new is not None)
        return converted if converted is not None else new

    async def async_pre_request_hook(
        self, model: str, messages: list[Any], kwargs: dict[str, Any]
    ) -> dict[str, Any] | None:
        """`litellm.anthropic.messages`: LiteLLM ignores returned messages, so edit in place.

        The list is LiteLLM's own normalized copy (never the caller's), and its
        items are replaced, not modified. Reached with uncompressed messages only
        when they bypassed the deployment hook (positional `litellm.anthropic_messages`).
        """
        request = {"model": model, "messages": messages, "tools": kwargs.get("tools")}
        new = await self.acompress_request(
            request, "anthropic_messages", add_tool=not kwargs.get("stream")
        )
        if new is None:
            return None
        messages[:] = new["messages"]
        out = {**kwargs, "litellm_metadata": new["litellm_metadata"]}
        if new.get("tools") is not None:
            out["tools"] = new["tools"]
        return out

    async def async_filter_deployments(
        self,
        model: str,
        healthy_deployments: list[Any],
        messages: list[Any] | None,
        request_kwargs: dict[str, Any] | None = None,
        parent_otel_span: Any = None,
    ) -> list[Any]:
        """Async Router only; keeps every deployment, and says once when pre-call checks refuse.

        `Router(enable_pre_call_checks=True)` counts the caller's own list right
        after this hook, the last one before the check; changing what it counts
        would mean rewriting the caller's list (see docs/litellm.md).
        """
        window = None if self._warned_router else _smallest_window(healthy_deployments)
        plain = plain_messages(messages)
        if window is None or plain is None or upper_bound_tokens(plain) <= window[0]:
            return healthy_deployments
        count = counter_for_model(window[1] or "gpt-4o")
        tokens = await asyncio.to_thread(lambda: sum(count_message_tokens(m, count) for m in plain))
        if tokens > window[0] and not self._warned_router:
            self._warned_router = True
            logger.warning(
                "headroom: this request has %d tokens before compression, over the %d-token window "
                "of Router deployment %r. A Router with enable_pre_call_checks=True refuses it "
                "(ContextWindowExceededError) before any LiteLLM callback can compress it; send it "
                "with headroom.integrations.litellm.acompletion(..., router=router) (or "
                "completion(..., router=router)), which compress first.",
                tokens,
                *window,
            )
        return healthy_deployments

    def __repr__(self) -> str:
        return f"HeadroomCallback(mode={self.mode!r}, min_tokens={self.min_tokens}, model_limit={self.model_limit})"
