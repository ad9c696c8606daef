"""LangChain's own conformance suite for chat models, run on HeadroomChatModel."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from headroom.integrations.langchain import HeadroomChatModel
from tests.integrations.langchain.fakes import CooperativeChatModel, RecordingChatModel


class TestHeadroomChatModelUnit(ChatModelUnitTests):
    """Skipped by the suite itself: `test_init_from_env` (the wrapper reads no
    environment variables) and `test_serdes` (the wrapper is not
    LangChain-serializable: it holds a live model, hooks and a store)."""

    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return HeadroomChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"wrapped_model": RecordingChatModel()}

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "recording-fake-2"

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True


class TestHeadroomChatModelIntegration(ChatModelIntegrationTests):
    """The integration suite against a cooperative tool-calling fake (no network).

    Skipped: the multimodal tests (image, PDF, audio inputs and tool messages,
    Anthropic inputs) because they download sample media; `test_json_mode`
    (the fake, like many providers, does not claim JSON mode); `test_stream_time`
    (needs VCR cassettes of a real provider).
    """

    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return HeadroomChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"wrapped_model": CooperativeChatModel()}

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "recording-fake-2"
