"""Content-aware transforms: detect what a text is, then compress it as that."""

from __future__ import annotations

from collections.abc import Callable

from headroom.core.detect import Kind, detect_kind
from headroom.core.transforms import code, gitlog, grep, json_data, logs, rag, tables, text
from headroom.core.transforms.base import Compressed, Job

__all__ = ["compress_text", "is_structured"]

Transform = Callable[[Job], "Compressed | None"]


_TRANSFORMS: dict[Kind, Transform] = {
    "json": json_data.compress_json,
    "table": tables.compress_table_text,
    "csv": tables.compress_table_text,
    "log": logs.compress_logs,
    "code": code.compress_code,
    "grep": grep.compress_grep,
    "rag": rag.compress_rag,
    "diff": text.compress_diff,
    "gitlog": gitlog.compress_gitlog,
    "html": text.compress_html,
    "text": text.compress_text_lines,
}


def compress_text(job: Job) -> Compressed | None:
    """Compress one text by its detected kind; None when nothing helps."""
    return _TRANSFORMS[detect_kind(job.text)](job)


def is_structured(text: str) -> bool:
    """Whether a user-pasted text is data (JSON, logs, code...) rather than prose."""
    return detect_kind(text) != "text"
