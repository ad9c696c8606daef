"""Drop-in `completion` / `acompletion` that compress first.

A registered `HeadroomCallback` already compresses sync and async calls; these
wrappers add what a hook cannot: answering `headroom_retrieve` on the sync
path (no agentic loop runs there), providers whose body no hook can reach
(`CustomLLM`, Bedrock, Gemini), and compression before a Router's
`enable_pre_call_checks` measures the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import litellm

from headroom.core.retrieve_loop import arun_with_retrieval, run_with_retrieval
from headroom.integrations.litellm._ccr import ResponseAdapter
from headroom.integrations.litellm._request import metadata_key
from headroom.integrations.litellm.callback import HeadroomCallback

__all__ = ["acompletion", "completion", "default_callback"]

_default: HeadroomCallback | None = None


def default_callback() -> HeadroomCallback:
    """The `HeadroomCallback` in ``litellm.callbacks`` if there is one, else a shared default."""
    global _default
    for cb in litellm.callbacks:
        if isinstance(cb, HeadroomCallback):
            return cb
    if _default is None:
        _default = HeadroomCallback()
    return _default


def _request(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    if len(args) > 2:
        raise TypeError("pass at most model and messages positionally")
    request = dict(kwargs)
    for name, value in zip(("model", "messages"), args, strict=False):
        if name in request:
            raise TypeError(f"got multiple values for argument {name!r}")
        request[name] = value
    return request


def _offer(cb: HeadroomCallback, request: Mapping[str, Any], send: Mapping[str, Any]) -> bool:
    """Offer `headroom_retrieve` here: content was stubbed, and the call does not stream."""
    if send is request or request.get("stream") or not cb.retrieval:
        return False
    return bool(send[metadata_key(request, "completion")]["headroom"]["ccr_hashes"])


def completion(
    *args: Any, callback: HeadroomCallback | None = None, router: Any = None, **kwargs: Any
) -> Any:
    """`litellm.completion` (or `router.completion`) with the request compressed first.

    Args:
        *args: `model` and `messages`, as for `litellm.completion`.
        callback: The `HeadroomCallback` to use; see `default_callback`.
        router: A `litellm.Router` to send through instead of `litellm.completion`.
        **kwargs: Everything else `litellm.completion` takes.

    When content was stubbed and the call does not stream, `headroom_retrieve`
    is offered to the model and its calls are answered here by the core loop
    (`headroom.core.retrieve_loop`), so the caller only sees the final answer.
    """
    cb = callback or default_callback()
    request = _request(args, kwargs)
    send = cb.compress_request(request, "completion") or request
    call = router.completion if router is not None else litellm.completion
    response, _ = run_with_retrieval(
        send,
        lambda body: call(**body),
        adapter=ResponseAdapter(),
        offer=_offer(cb, request, send),
        answer=cb.answerer(send.get("messages") or []),
    )
    cb.confirm(send)
    return response


async def acompletion(
    *args: Any, callback: HeadroomCallback | None = None, router: Any = None, **kwargs: Any
) -> Any:
    """`litellm.acompletion` (or `router.acompletion`) with the request compressed first.

    Useful when messages are passed positionally, and before a Router's
    pre-call checks. With the callback in ``litellm.callbacks`` the hooks see
    the compressed request and leave it alone, and LiteLLM's agentic loop
    answers `headroom_retrieve` where it runs (streams too); otherwise the
    core loop answers it here, as in `completion` (not for streams).
    """
    cb = callback or default_callback()
    request = _request(args, kwargs)
    in_loop = any(c is cb for c in litellm.callbacks) and cb.answers_in_loop("acompletion", request)
    send = await cb.acompress_request(request, "acompletion", add_tool=in_loop) or request
    call = router.acompletion if router is not None else litellm.acompletion

    async def once(body: dict[str, Any]) -> Any:
        return await call(**body)

    response, _ = await arun_with_retrieval(
        send,
        once,
        adapter=ResponseAdapter(),
        offer=not in_loop and _offer(cb, request, send),
        answer=cb.answerer(send.get("messages") or []),
    )
    cb.confirm(send)
    return response
