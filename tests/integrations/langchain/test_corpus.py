"""Every corpus case through HeadroomChatModel: the model gets fewer tokens and every needle."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import SystemMessage, convert_to_messages

from headroom.integrations.langchain import HeadroomChatModel
from tests.conftest import load_cases
from tests.integrations.langchain.conftest import needles_in
from tests.integrations.langchain.fakes import RecordingChatModel

CASES = load_cases()


@pytest.mark.parametrize("data", CASES, ids=[c["id"] for c in CASES])
def test_case_through_the_wrapper(data: dict[str, Any]) -> None:
    # Anthropic-format cases become HumanMessages with tool_result blocks and
    # AIMessages with tool_use blocks: the list-content path of the converters.
    messages = list(convert_to_messages(data["messages"]))
    if data.get("system"):
        messages = [SystemMessage(data["system"]), *messages]
    fake = RecordingChatModel()
    reply = HeadroomChatModel(fake, tokenizer_model="gpt-4o").invoke(messages)
    sent = fake.received[-1]
    assert [type(m) for m in sent] == [type(m) for m in messages]
    assert [m.id for m in sent] == [m.id for m in messages]
    assert needles_in(sent, data["needles"]) == []
    stats = reply.response_metadata["headroom"]
    assert stats["tokens_after"] <= stats["tokens_before"]
    if stats["transforms_applied"]:
        assert stats["tokens_saved"] > 0
