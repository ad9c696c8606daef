"""Configuration of `compress()`: which transforms run and how hard they cut."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from headroom.exceptions import ConfigurationError

__all__ = ["CompressConfig"]

_MINIMUMS = {
    "min_tokens": 0,
    "keep_last_turns": 1,
    "output_reserve": 0,
    "target_rows": 1,
    "top_k": 1,
    "max_recall_tokens": 0,
}


@dataclass(frozen=True)
class CompressConfig:
    """Knobs for `compress()`. Defaults keep every answer and save the most.

    A plain frozen dataclass (no pydantic at import time keeps `import headroom`
    fast); `from_dict` validates untrusted input such as a server request.

    Attributes:
        min_tokens: Tool outputs (and pasted context) below this are left alone.
        lossy: Allow row/line/body selection beyond lossless reformatting.
            Everything a lossy step drops is stored for `headroom_retrieve`.
        ccr: Store originals of lossy steps and name their hash in the marker.
        markers_name_tool: Markers name the `headroom_retrieve(hash=...)` call.
            Turn off when the model is not offered the tool: markers then only
            say what was left out (originals are still stored, hashes listed
            in `ccr_hashes`), so the model is not told to call a missing tool.
        recall: After a user's question, surface the parts of earlier compressed
            outputs that match it (appended to that question, so the prefix the
            provider has cached is never rewritten).
        cache_align: Move volatile values (dates, times, ids) of a system prompt
            to the end of that same prompt, so the part before them stays
            byte-stable across requests. Off by default: it only pays for long
            system prompts with a per-request value (see `bench/cache_align.py`).
        compress_user_context: Compress large *structured* user content (pasted
            JSON, logs, code) in earlier user turns; prose is never rewritten.
        protect_tools: Tool names whose outputs are never compressed.
        keep_last_turns: Turns the context-window manager never stubs.
        output_reserve: Tokens kept free for the reply when fitting `model_limit`.
        target_rows: Rows matching the request that a record table keeps.
        top_k: Rows kept at each end of every numeric column (top-k and bottom-k).
        max_recall_tokens: Budget of the recall block appended after a question.
        fail_open: On an internal error return the input unchanged (logged)
            instead of raising `CompressionError`.
    """

    min_tokens: int = 250
    lossy: bool = True
    ccr: bool = True
    markers_name_tool: bool = True
    recall: bool = True
    cache_align: bool = False
    compress_user_context: bool = True
    protect_tools: tuple[str, ...] = field(default=())
    keep_last_turns: int = 2
    output_reserve: int = 4096
    target_rows: int = 12
    top_k: int = 5
    max_recall_tokens: int = 2000
    fail_open: bool = True

    def __post_init__(self) -> None:
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if spec.name == "protect_tools":
                if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                    raise ConfigurationError("protect_tools must be a list of tool names")
                object.__setattr__(self, "protect_tools", tuple(value))
            elif spec.type == "bool":
                if not isinstance(value, bool):
                    raise ConfigurationError(f"{spec.name} must be true or false, got {value!r}")
            elif (
                not isinstance(value, int)
                or isinstance(value, bool)
                or value < _MINIMUMS[spec.name]
            ):
                raise ConfigurationError(
                    f"{spec.name} must be an integer >= {_MINIMUMS[spec.name]}, got {value!r}"
                )
        data = self.to_dict()
        del data["fail_open"]
        object.__setattr__(self, "_fingerprint", json.dumps(data, sort_keys=True))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> CompressConfig:
        """Build from untrusted input; unknown keys or wrong types raise `ConfigurationError`."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigurationError(f"unknown config fields: {', '.join(unknown)}")
        return cls(**dict(values))

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-ready values."""
        data = dataclasses.asdict(self)
        data["protect_tools"] = list(self.protect_tools)
        return data

    def replace(self, **changes: Any) -> CompressConfig:
        """A copy with `changes` applied (validated)."""
        return dataclasses.replace(self, **changes)

    def fingerprint(self) -> str:
        """A stable string of the settings that change output bytes (for memo keys)."""
        return str(self.__dict__["_fingerprint"])
