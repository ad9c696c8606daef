"""What every content transform receives and returns."""

from __future__ import annotations

import re
from dataclasses import dataclass

from headroom.core.config import CompressConfig
from headroom.core.relevance import Relevance

__all__ = ["SEVERITY", "Compressed", "Job", "has_severity", "marker", "marker_hashes"]

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


def marker(summary: str, ccr_hash: str | None) -> str:
    """The one-line note that tells the model what was left out and how to get it back.

    Without a hash (CCR off, or the retrieve tool not offered) the marker names
    no call: a model must never be told to call a tool it does not have.
    """
    if ccr_hash:
        return f'[headroom: {summary}; full original: headroom_retrieve(hash="{ccr_hash}")]'
    return f"[headroom: {summary}]"


#: The call a marker names, as `marker()` writes it (JSON-escaped quotes allowed, so
#: markers are found in serialized payloads too).
_MARKER_CALL = re.compile(r'headroom_retrieve\(hash=\\?"([0-9a-f]{16})\\?"\)')


def marker_hashes(text: str) -> list[str]:
    """The hashes named by the markers in `text`, in order, without repeats."""
    return list(dict.fromkeys(_MARKER_CALL.findall(text)))
