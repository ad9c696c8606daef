"""``headroom proxy --backend NAME``: reach any provider LiteLLM speaks.

Clients keep speaking OpenAI chat or Anthropic messages to the proxy; the
proxy hands the compressed request to LiteLLM's SDK (``litellm.acompletion``
and ``litellm.anthropic.messages.acreate``), which already knows Bedrock,
Vertex AI, Azure, OpenRouter, Gemini, Groq and the rest. Credentials come
from the provider's usual environment variables (``OPENROUTER_API_KEY``,
``AWS_*``, ``AZURE_API_KEY``...), as LiteLLM reads them; a key the client
sends is not forwarded to a backend.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, Response, StreamingResponse

from headroom.server.http import client_error

__all__ = ["LiteLLMBackend"]

#: Where `--region` goes for the backends that take one, by LiteLLM's parameter names.
_REGION_PARAMETER = {
    "bedrock": "aws_region_name",
    "sagemaker": "aws_region_name",
    "vertex_ai": "vertex_location",
    "vertex_ai_beta": "vertex_location",
}


def _litellm() -> Any:
    try:
        import litellm
    except ImportError as exc:
        raise ImportError(
            "headroom proxy --backend routes through LiteLLM: pip install 'headroom[litellm]'"
        ) from exc
    return litellm


@dataclass(frozen=True)
class LiteLLMBackend:
    """One LiteLLM provider prefix (``bedrock``, ``openrouter``...) and its options."""

    name: str
    region: str | None = None

    def model(self, requested: str) -> str:
        """The LiteLLM model name: the provider prefix added once."""
        return requested if requested.startswith(f"{self.name}/") else f"{self.name}/{requested}"

    def _options(self) -> dict[str, Any]:
        parameter = _REGION_PARAMETER.get(self.name)
        return {parameter: self.region} if parameter and self.region else {}

    async def call(self, api: str, body: dict[str, Any]) -> Any:
        """One call in the client's API shape: a dict, or an async iterator when streamed."""
        litellm = _litellm()
        params = {k: v for k, v in body.items() if k != "model"}
        model = self.model(str(body.get("model", "")))
        if api == "anthropic_messages":
            return await litellm.anthropic.messages.acreate(
                model=model, **params, **self._options()
            )
        response = await litellm.acompletion(model=model, **params, **self._options())
        if params.get("stream"):
            return response
        return response.model_dump(exclude_none=True)

    async def respond(self, api: str, body: dict[str, Any], extra: dict[str, str]) -> Response:
        """Call the backend and answer the client in its own wire format."""
        anthropic = api == "anthropic_messages"
        try:
            result = await self.call(api, body)
        except Exception as exc:  # LiteLLM maps provider errors to exceptions with a status
            status = getattr(exc, "status_code", None)
            status = status if isinstance(status, int) and 400 <= status < 600 else 502
            kind = "api_error" if status >= 500 else "invalid_request_error"
            return client_error(status, kind, f"{self.name} backend: {exc}", anthropic=anthropic)
        if isinstance(result, dict):
            return JSONResponse(result, headers=extra)
        if hasattr(result, "model_dump"):
            return JSONResponse(result.model_dump(exclude_none=True), headers=extra)
        return StreamingResponse(
            _sse(result, anthropic), media_type="text/event-stream", headers=extra
        )


async def _sse(stream: Any, anthropic: bool) -> AsyncIterator[bytes]:
    """LiteLLM's stream as the client's SSE: OpenAI chunks end with ``[DONE]``."""
    async for chunk in stream:
        if isinstance(chunk, (bytes, bytearray)):
            yield bytes(chunk)  # LiteLLM's Anthropic interface streams SSE bytes already
        elif anthropic:
            event = chunk if isinstance(chunk, dict) else chunk.model_dump(exclude_none=True)
            yield f"event: {event.get('type', 'message')}\ndata: {json.dumps(event)}\n\n".encode()
        else:
            yield f"data: {chunk.model_dump_json(exclude_none=True)}\n\n".encode()
    if not anthropic:
        yield b"data: [DONE]\n\n"
