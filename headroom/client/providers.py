"""What `HeadroomClient` knows about each provider SDK.

A provider names its wire format (which picks the retrieve adapter and the
stream relay), where the chat call lives on the SDK client, how to tell an
async client, and how to hide a retrieve call left in a final response. The
SDKs themselves are imported only when a client is wrapped.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from headroom.client.streaming import AnthropicRelay, OpenAIChatRelay, StreamRelay
from headroom.core.ccr import is_retrieve_name
from headroom.core.model_windows import context_window
from headroom.core.retrieval import RETRIEVE_ADAPTERS
from headroom.core.retrieve_adapter import RetrieveAdapter
from headroom.core.tokens import TokenCounter, counter_for_model
from headroom.exceptions import ConfigurationError, ProviderError

__all__ = ["AnthropicProvider", "OpenAIProvider", "Provider", "check_provider"]


class Provider(ABC):
    """One provider SDK. Subclasses fill in the class attributes and two hooks.

    Args:
        token_counter: Count tokens with this instead of Headroom's offline
            tokenizer for the model (e.g. an exact counter you trust).
    """

    name: str = ""
    api: str = ""
    sdk_module: str = ""
    async_class: str = ""
    resource: tuple[str, ...] = ()
    #: The SDK's stream helper classes: (module, sync manager, async manager), if wrapped.
    stream_helper: tuple[str, str, str] | None = None

    def __init__(self, token_counter: TokenCounter | None = None) -> None:
        self.token_counter = token_counter

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    @property
    def adapter(self) -> RetrieveAdapter:
        """The `headroom.core.retrieval` adapter of this wire format."""
        return RETRIEVE_ADAPTERS[self.api]

    def relay(self) -> StreamRelay:
        """A fresh stream relay for one streamed request."""
        return _RELAYS[self.api]()

    def counter(self, model: str) -> TokenCounter:
        """The token counter for `model`: the caller's, else the offline tokenizer."""
        return self.token_counter or counter_for_model(model)

    def context_limit(self, model: str, overrides: Mapping[str, int]) -> int | None:
        """The context window of `model`: the caller's override, else the known window."""
        bare = model.rsplit("/", 1)[-1]
        for key in (model, bare):
            if key in overrides:
                return overrides[key]
        return context_window(model)

    def sdk(self) -> Any:
        """The provider's SDK module.

        Raises:
            ImportError: the SDK is not installed, naming the extra.
        """
        try:
            return importlib.import_module(self.sdk_module)
        except ImportError as exc:
            raise ImportError(
                f"HeadroomClient with {type(self).__name__} needs the {self.sdk_module!r} SDK: "
                "pip install 'headroom[client]'"
            ) from exc

    def is_async(self, client: Any) -> bool:
        """Whether `client` is the SDK's async client (or a subclass of it)."""
        return isinstance(client, getattr(self.sdk(), self.async_class))

    def endpoint(self, client: Any) -> Any:
        """The SDK resource whose ``create`` sends a chat request.

        Raises:
            ConfigurationError: `client` has no such resource (wrong provider?).
        """
        target = client
        for attr in self.resource:
            target = getattr(target, attr, None)
            if target is None:
                raise ConfigurationError(
                    f"{type(client).__name__} has no .{'.'.join(self.resource)}; "
                    f"is {type(self).__name__} the right provider for it?",
                    {"provider": self.name, "client": type(client).__name__},
                )
        return target

    def stream_manager(self, request: Any, is_async: bool) -> Any:
        """The SDK's ``.stream()`` helper over `request` (a callable, or an awaitable when
        async, giving the stream), or None when Headroom does not wrap this SDK's helper."""
        if self.stream_helper is None:
            return None
        module_name, sync_name, async_name = self.stream_helper
        module = importlib.import_module(module_name)
        if is_async:
            return getattr(module, async_name)(request)
        return getattr(module, sync_name)(request, output_format=self.sdk().NOT_GIVEN)

    @abstractmethod
    def hide_retrieve_calls(self, response: Any) -> Any:
        """`response` without ``headroom_retrieve`` calls (left when no rounds remained)."""


class OpenAIProvider(Provider):
    """OpenAI Chat Completions through the ``openai`` SDK (also Azure and compatible servers)."""

    name = "openai"
    api = "openai_chat"
    sdk_module = "openai"
    async_class = "AsyncOpenAI"
    resource = ("chat", "completions")

    def hide_retrieve_calls(self, response: Any) -> Any:
        choices = getattr(response, "choices", None)
        if not choices:
            return response
        changed = []
        for choice in choices:
            calls = getattr(choice.message, "tool_calls", None) or []
            kept = [c for c in calls if not is_retrieve_name(getattr(c.function, "name", None))]
            if len(kept) == len(calls):
                changed.append(choice)
                continue
            message = choice.message.model_copy(update={"tool_calls": kept or None})
            finish = (
                "stop"
                if not kept and choice.finish_reason == "tool_calls"
                else choice.finish_reason
            )
            changed.append(choice.model_copy(update={"message": message, "finish_reason": finish}))
        return response.model_copy(update={"choices": changed})


class AnthropicProvider(Provider):
    """Anthropic Messages through the ``anthropic`` SDK."""

    name = "anthropic"
    api = "anthropic_messages"
    sdk_module = "anthropic"
    async_class = "AsyncAnthropic"
    resource = ("messages",)
    stream_helper = ("anthropic.lib.streaming", "MessageStreamManager", "AsyncMessageStreamManager")

    def hide_retrieve_calls(self, response: Any) -> Any:
        content = getattr(response, "content", None)
        if not isinstance(content, list):
            return response
        kept = [
            b
            for b in content
            if not (getattr(b, "type", None) == "tool_use" and is_retrieve_name(b.name))
        ]
        if len(kept) == len(content):
            return response
        update: dict[str, Any] = {"content": kept}
        if response.stop_reason == "tool_use" and not any(
            getattr(b, "type", None) == "tool_use" for b in kept
        ):
            update["stop_reason"] = "end_turn"
        return response.model_copy(update=update)


_RELAYS: dict[str, type[StreamRelay]] = {
    "openai_chat": OpenAIChatRelay,
    "anthropic_messages": AnthropicRelay,
}


def check_provider(provider: object) -> Provider:
    """`provider` if it is a `Provider` instance.

    Raises:
        ProviderError: anything else (e.g. the class instead of an instance).
    """
    if isinstance(provider, type) and issubclass(provider, Provider):
        raise ProviderError(
            f"pass an instance: provider={provider.__name__}()", {"provider": provider.__name__}
        )
    if not isinstance(provider, Provider) or provider.api not in _RELAYS:
        raise ProviderError(
            f"unknown provider {provider!r}: use OpenAIProvider() or AnthropicProvider()",
            {"provider": repr(provider)},
        )
    return provider
