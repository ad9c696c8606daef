"""Every OpenAI-format corpus case through HeadroomAgnoModel: fewer tokens, every needle kept."""

from __future__ import annotations

from typing import Any

import pytest
from agno.models.message import Message
from agno_kit import ScriptedModel, corpus_case_ids, has_needle, load_case, sent_text

from headroom.core import InMemoryStore
from headroom.integrations.agno import HeadroomAgnoModel


def _agno_messages(case: dict[str, Any]) -> list[Message]:
    keys = ("role", "content", "tool_calls", "tool_call_id", "name")
    return [Message(**{k: m[k] for k in keys if k in m}) for m in case["messages"]]


@pytest.mark.parametrize("case_id", corpus_case_ids("openai"))
def test_case_through_the_wrapper(case_id: str, store: InMemoryStore) -> None:
    case = load_case(case_id)
    fake = ScriptedModel()
    model = HeadroomAgnoModel(fake, store=store)
    messages = _agno_messages(case)
    before = [m.model_dump_json() for m in messages]

    model.invoke(messages=messages, assistant_message=Message(role="assistant"))

    sent = fake.calls[0]["messages"]
    assert len(sent) == len(messages)
    text = sent_text(sent)
    missing = [n for n in case["needles"] if not has_needle(n, text)]
    assert not missing, f"{case_id}: lost {missing}"
    assert model.last_result is not None
    assert model.last_result.tokens_after <= model.last_result.tokens_before
    # The caller's messages are untouched; changed ones went out as copies with the same ids.
    assert [m.model_dump_json() for m in messages] == before
    assert [m.id for m in sent] == [m.id for m in messages]
    # The question is kept word for word (recall may only append after it).
    last = max(i for i, m in enumerate(messages) if m.role == "user")
    assert isinstance(sent[last].content, str) and isinstance(messages[last].content, str)
    assert sent[last].content.startswith(messages[last].content)


def test_savings_over_the_corpus(store: InMemoryStore) -> None:
    model = HeadroomAgnoModel(ScriptedModel(), store=store)
    for case_id in corpus_case_ids("openai"):
        model.invoke(
            messages=_agno_messages(load_case(case_id)), assistant_message=Message(role="assistant")
        )
    stats = model.stats
    assert stats["requests"] == len(corpus_case_ids("openai"))
    assert stats["tokens_saved"] > 0.5 * stats["tokens_before"]
