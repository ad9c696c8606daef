"""A retriever document compressor: shrink retrieved documents, keep every one.

Plug it into `ContextualCompressionRetriever` (or call it directly). Each
document is compressed as a tool output fetched for the query, so the parts
that match the query are the ones kept; none is dropped, ids and metadata
stay, and `metadata["headroom"]` records what was done.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict

from headroom import CCRStore, CompressConfig
from headroom.core.output import compress_output

__all__ = ["HeadroomDocumentCompressor"]


class HeadroomDocumentCompressor(BaseDocumentCompressor):
    """Compress each retrieved document against the query.

    Attributes:
        model: Model name for token counting.
        config: Compression settings (documents under `min_tokens` are left alone).
        store: CCR store for originals of lossy steps; the process default if None.
        tool_name: The name documents are framed under (a name in
            `config.protect_tools` turns compression off for them).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: str = "gpt-4o"
    config: CompressConfig | None = None
    store: CCRStore | None = None
    tool_name: str = "retriever"

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        return [self._compress(doc, query) for doc in documents]

    def _compress(self, document: Document, query: str) -> Document:
        result = compress_output(
            document.page_content,
            tool_name=self.tool_name,
            arguments={"query": query},
            question=query,
            model=self.model,
            config=self.config,
            store=self.store,
        )
        if result.text == document.page_content:
            return document
        metadata: dict[str, Any] = {**document.metadata, "headroom": result.stats()}
        return Document(page_content=result.text, metadata=metadata, id=document.id)
