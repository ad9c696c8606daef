"""What every content transform is: what it receives, returns and offers the core.

A transform is one kind of content (`Transform.kind`, as `detect_kind` names
it) and three operations: `compress` a text of that kind, split an original
into the `units` recall and `retrieve(hash, query)` select from, and
`recognises` its own output (so the core never compresses it twice). The
registry keyed by kind is `headroom.core.transforms.TRANSFORMS`.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from headroom.core.config import CompressConfig
from headroom.core.detect import Kind
from headroom.core.relevance import Relevance

__all__ = [
    "MARK",
    "SEVERITY",
    "Compressed",
    "Job",
    "Transform",
    "Units",
    "has_severity",
    "is_marked",
    "marker",
    "marker_hashes",
    "record_text",
]

#: Words that make a line or record something the model must see. Matched against
#: lower-cased text: a case-sensitive scan is about four times faster than IGNORECASE.
SEVERITY = re.compile(
    r"\b(?=[acdefikoprstuw])(?:errors?|err|fail(?:ed|ure|ures|ing|s)?|fatal|critical|crit|exception|"
    r"traceback|panic|warn(?:ing)?|denied|refused|timeout|timed out|abort(?:ed)?|segfault|"
    r"unhealthy|emerg|alert|couldn't|could not|cannot|can't|unable|invalid|killed|oom)\b"
)


def has_severity(text: str) -> bool:
    """Whether `text` mentions an error, a warning or a failure."""
    return SEVERITY.search(text.lower()) is not None


@dataclass(frozen=True)
class Job:
    """One text to compress and what the request around it is about."""

    text: str
    relevance: Relevance
    config: CompressConfig
    ccr_hash: str
    bias: float = 1.0
    tool_name: str | None = None

    def scaled(self, n: int) -> int:
        """`n` scaled by the caller's bias (>1 keeps more), at least 1."""
        return max(1, round(n * self.bias))


@dataclass(frozen=True)
class Compressed:
    """A transform's output. `lossy` outputs are stored for retrieval."""

    text: str
    name: str
    lossy: bool = False


#: How every marker starts: the core's own output carries it wherever it left something out.
MARK = "[headroom: "


def marker(summary: str, ccr_hash: str | None) -> str:
    """The one-line note that tells the model what was left out and how to get it back.

    Without a hash (CCR off, or the retrieve tool not offered) the marker names
    no call: a model must never be told to call a tool it does not have.
    """
    if ccr_hash:
        return f'{MARK}{summary}; full original: headroom_retrieve(hash="{ccr_hash}")]'
    return f"{MARK}{summary}]"


def is_marked(text: str) -> bool:
    """Whether `text` holds a marker, i.e. something in it was compressed already."""
    return MARK in text


#: The call a marker names, as `marker()` writes it (JSON-escaped quotes allowed, so
#: markers are found in serialized payloads too).
_MARKER_CALL = re.compile(r'headroom_retrieve\(hash=\\?"([0-9a-f]{16})\\?"\)')


def marker_hashes(text: str) -> list[str]:
    """The hashes named by the markers in `text`, in order, without repeats."""
    return list(dict.fromkeys(_MARKER_CALL.findall(text)))


def record_text(record: dict[str, Any]) -> str:
    """One record as a unit: compact JSON, keys in their order."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Units:
    """An original split into the pieces recall and `retrieve(hash, query)` pick from.

    `parts` are what is handed back; `searched[i]` is what part i is matched by
    (a method is found under `Class.method`); `shown[i]` is how part i reads in
    the compressed output, to tell whether it is visible already. `rows` holds
    the records when the original is a list of them, for the structured
    queries (`field=value`, `top N by column`) and rank/range requests.
    """

    parts: Sequence[str]
    searched: Sequence[str]
    shown: Sequence[str]
    rows: list[dict[str, Any]] | None = None

    @classmethod
    def of(cls, parts: Sequence[str], searched: Sequence[str] | None = None) -> Units:
        """Units searched by `searched` (their own text by default), shown as themselves."""
        return cls(parts, parts if searched is None else searched, parts)

    @classmethod
    def lines(cls, text: str) -> Units:
        """Every non-blank line, the unit of a text no transform splits better."""
        return cls.of([line for line in text.splitlines() if line.strip()])


class Transform(ABC):
    """One kind of content: how to compress it, split it, and recognise its output.

    Subclasses set `kind` and implement `compress`; `units` defaults to the
    non-blank lines, and `recognises` to nothing beyond the shared marker
    (`is_marked`), which the registry checks once for every kind.
    """

    kind: ClassVar[Kind]

    @abstractmethod
    def compress(self, job: Job) -> Compressed | None:
        """`job.text` compressed as this kind; None when nothing helps."""

    def units(self, text: str) -> Units:
        """`text` (an original of this kind) as the units recall and retrieval pick from."""
        return Units.lines(text)

    def recognises(self, text: str) -> bool:
        """Whether `text` is this transform's own output without a marker (lossless forms)."""
        return False
