"""Sync `completion`, `Router.completion`, `batch_completion`: the body LiteLLM is about to send.

LiteLLM's `Logging.pre_call` hands every callback's `log_pre_api_call` its live
call details; ``additional_args["complete_input_dict"]`` is the dict the
provider code serialises and sends right after (OpenAI-compatible and
Anthropic HTTP providers). Replacing its ``messages`` changes the request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from headroom.integrations.litellm._request import with_stats

__all__ = ["rewrite_sync_body"]

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
    """Whether LiteLLM's call details are for a sync chat completion (async ones pass here too)."""
    call_type = str(details.get("call_type") or "").rsplit(".", 1)[-1]
    extra = details.get("additional_args")
    params = details.get("litellm_params")
    return (
        call_type == "completion"
        and not (isinstance(extra, Mapping) and extra.get("acompletion"))
        and not (isinstance(params, Mapping) and params.get("acompletion"))
    )


def rewrite_sync_body(
    model: Any, details: Any, compress: Callable[[Mapping[str, Any]], dict[str, Any] | None]
) -> None:
    """Compress the body in LiteLLM's call `details` in place and record the savings there:
    only dicts LiteLLM built for this call change (never the caller's list)."""
    if not isinstance(details, dict) or not _is_sync_chat(details) or _body_is_signed(details):
        return
    extra = details.get("additional_args")
    body = extra.get("complete_input_dict") if isinstance(extra, dict) else None
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return  # e.g. a provider that already serialised (and signed) its body
    new = compress({"model": str(body.get("model") or model or ""), "messages": body["messages"]})
    if new is None:
        return
    body["messages"] = new["messages"]
    params = details.get("litellm_params")
    if isinstance(params, dict):
        key = (
            "litellm_metadata"
            if "metadata" not in params and isinstance(params.get("litellm_metadata"), Mapping)
            else "metadata"
        )
        params.update(with_stats(params, key, new["metadata"]["headroom"]))
