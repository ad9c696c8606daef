"""Content-aware transforms: detect what a text is, then compress it as that.

`TRANSFORMS` is the registry: one `Transform` (`transforms.base`) per kind
`detect_kind` names. The pipeline, recall and retrieval reach a transform only
through it: `compress_text`, `units_of` and `is_own_output`.
"""

from __future__ import annotations

from collections.abc import Mapping

from headroom.core.detect import Kind, detect_kind
from headroom.core.transforms import code, gitlog, grep, json_data, logs, rag, tables, text
from headroom.core.transforms.base import Compressed, Job, Transform, Units, is_marked

__all__ = [
    "TRANSFORMS",
    "compress_text",
    "is_own_output",
    "is_structured",
    "transform_for",
    "units_of",
]

TRANSFORMS: Mapping[Kind, Transform] = {
    t.kind: t
    for t in (
        json_data.JsonTransform(),
        tables.TableTransform(),
        tables.CsvTransform(),
        logs.LogTransform(),
        code.CodeTransform(),
        grep.GrepTransform(),
        rag.RagTransform(),
        text.DiffTransform(),
        gitlog.GitLogTransform(),
        text.HtmlTransform(),
        text.TextTransform(),
    )
}


def transform_for(text: str) -> Transform:
    """The transform of `text`'s detected kind."""
    return TRANSFORMS[detect_kind(text)]


def compress_text(job: Job) -> Compressed | None:
    """Compress one text by its detected kind; None when nothing helps."""
    return transform_for(job.text).compress(job)


def units_of(text: str) -> Units:
    """An original split, by its detected kind, into what recall and retrieval pick from."""
    return transform_for(text).units(text)


def is_own_output(text: str) -> bool:
    """Whether `text` is the output of a transform already: it holds a marker, or a
    transform recognises its lossless form."""
    return is_marked(text) or any(t.recognises(text) for t in TRANSFORMS.values())


def is_structured(text: str) -> bool:
    """Whether a user-pasted text is data (JSON, logs, code...) rather than prose."""
    return detect_kind(text) != "text"
