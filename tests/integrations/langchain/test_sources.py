"""Compression at the source: retrieved documents and tool outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.messages import ToolMessage
from langchain_core.tools import ToolException, tool

from headroom import CompressConfig, InMemoryStore, retrieve
from headroom.integrations.langchain import HeadroomDocumentCompressor, compress_tool
from tests.conftest import case, needle_present


def _tool_output(case_id: str) -> tuple[str, dict[str, Any], list[str]]:
    data = case(case_id)
    message = next(m for m in reversed(data["messages"]) if m["role"] == "tool")
    call = next(
        c
        for m in data["messages"]
        for c in m.get("tool_calls") or []
        if c["id"] == message["tool_call_id"]
    )
    return str(message["content"]), json.loads(call["function"]["arguments"]), data["needles"]


def test_document_compressor_keeps_every_document_and_the_answer() -> None:
    store = InMemoryStore()
    big, _, _ = _tool_output("p-json-comments-email")
    data = case("p-json-comments-email")
    docs = [
        Document(page_content="short note", metadata={"source": "a"}, id="d1"),
        Document(page_content=big, metadata={"source": "b"}, id="d2"),
    ]
    out = HeadroomDocumentCompressor(store=store).compress_documents(docs, data["question"])
    assert len(out) == 2
    assert out[0] is docs[0]
    assert out[1].id == "d2" and out[1].metadata["source"] == "b"
    assert len(out[1].page_content) < len(big) / 2
    stats = out[1].metadata["headroom"]
    assert stats["tokens_saved"] > 0
    for needle in data["needles"]:
        assert needle_present(needle, [{"content": out[1].page_content}])
    for digest in stats["ccr_hashes"]:
        assert retrieve(digest, store=store) == big
    assert docs[1].page_content == big  # the caller's documents are not touched


async def test_document_compressor_async() -> None:
    big, _, _ = _tool_output("p-logs-apache")
    out = await HeadroomDocumentCompressor().acompress_documents([Document(big)], "errors?")
    assert len(out[0].page_content) < len(big)


def test_compressed_tool_keeps_its_interface_and_shrinks_output() -> None:
    output, args, needles = _tool_output("p-logs-openssh")
    store = InMemoryStore()

    @tool
    def read_logs(source: str, offset: int = 0, limit: int = 500) -> str:
        """Read lines from a log file on the host."""
        return output

    wrapped = compress_tool(read_logs, store=store)
    assert (wrapped.name, wrapped.description, wrapped.args) == (
        read_logs.name,
        read_logs.description,
        read_logs.args,
    )
    text = wrapped.invoke(args)
    assert isinstance(text, str) and len(text) < len(output) / 2
    message = wrapped.invoke({"type": "tool_call", "name": "read_logs", "args": args, "id": "c7"})
    assert isinstance(message, ToolMessage) and message.tool_call_id == "c7"
    assert message.content == text  # deterministic: the same bytes every time
    assert all(needle_present(n, [{"content": text}]) for n in needles)


async def test_compressed_tool_async_with_artifact_and_errors() -> None:
    output, _, _ = _tool_output("p-db-biggestfile")

    @tool(response_format="content_and_artifact")
    def run_query(**kwargs: Any) -> tuple[str, dict[str, int]]:
        """Run a query."""
        return output, {"rows": 42}

    wrapped = compress_tool(run_query, config=CompressConfig(cache_align=False, recall=False))
    message = await wrapped.ainvoke(
        {"type": "tool_call", "name": "run_query", "args": {}, "id": "q"}
    )
    assert message.artifact == {"rows": 42}
    assert len(str(message.content)) < len(output)

    @tool
    def broken(x: int) -> str:
        """Always fails."""
        raise ToolException("disk on fire")

    with pytest.raises(ToolException, match="disk on fire"):
        compress_tool(broken).invoke({"x": 1})
    failing = compress_tool(broken.model_copy(update={"handle_tool_error": True}))
    reply = failing.invoke({"type": "tool_call", "name": "broken", "args": {"x": 1}, "id": "e"})
    assert reply.status == "error" and "disk on fire" in reply.content
