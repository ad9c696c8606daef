"""Offline token counting.

OpenAI models are counted exactly with their tiktoken encoding, loaded from
files shipped inside this package (tiktoken would otherwise download them on
first use, which fails or hangs offline). Anthropic's tokenizer is not public:
Claude and unknown models are counted with o200k plus a documented margin, so
budgets err on the safe side. A caller may pass any ``Callable[[str], int]``.
"""

from __future__ import annotations

import binascii
import re
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

__all__ = [
    "ANTHROPIC_MARGIN",
    "TokenCounter",
    "count_message_tokens",
    "counter_for_model",
    "encoding_name_for_model",
]

TokenCounter = Callable[[str], int]

#: Claude's tokenizer yields more tokens than o200k on code and JSON; measured
#: o200k undercounts by up to ~15%, so estimates for Claude are scaled by this.
ANTHROPIC_MARGIN = 1.15

#: Per-message framing tokens (role, separators), as in OpenAI's cookbook.
MESSAGE_OVERHEAD = 4

_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_CL100K_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""

_ENCODINGS: dict[str, tuple[str, dict[str, int]]] = {
    "o200k_base": (_O200K_PATTERN, {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}),
    "cl100k_base": (
        _CL100K_PATTERN,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
}

# Model-name prefixes -> encoding, first match wins. Data, not an if/elif ladder.
_MODEL_ENCODINGS: tuple[tuple[str, str], ...] = (
    ("gpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("gpt-oss", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("text-embedding", "cl100k_base"),
)

_lock = threading.Lock()

#: tiktoken's pattern backtracks over a whitespace run and overflows its stack
#: (a Rust panic, a BaseException) from ~1,000,000 characters; runs this long
#: are counted in pieces of this size, which changes the count by a token or so.
_RUN_PIECE = 8192
#: Tried only where a run starts: without the look-behind, every position inside a
#: run just under `_RUN_PIECE` long is tried again (runs of 8,000 spaces: 0.66 s per
#: 128 KB, quadratic; now 1 ms).
_LONG_RUN = re.compile(rf"(?<!\s)\s{{{_RUN_PIECE},}}")
#: Long texts are encoded in chunks of at least this many characters: tiktoken
#: returns every token as a Python int (~36 bytes each, ~9x the text), so one
#: encode of a 20 MB text holds ~180 MB at once; a chunk holds ~2 MB.
_CHUNK = 2**18
#: Where both encodings' pre-tokenizer splits whatever follows: after an ASCII
#: letter or digit and before an ASCII character that is neither (nor `'`, which
#: starts a contraction); or after a line break and before a character that is
#: not blank (nor `/`, which o200k lets follow a line break in one piece). No
#: alternative of either pattern runs across such a point, and none looks
#: behind, so the pieces (and so the tokens) of the two halves are those of the
#: whole: chunked counts are exact (tests/core/test_tokens.py checks it on
#: random text). The second rule lets text without ASCII words be cut too.
_SAFE_CUT = re.compile(
    r"[A-Za-z0-9](?=[\x00-\x26\x28-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f])|\n(?=[^\s/])"
)


def _bare_model(model: str) -> str:
    """`openai/gpt-4o`, `azure/gpt-4o-2024` -> `gpt-4o...`; provider prefixes are routing only."""
    return model.rsplit("/", 1)[-1].lower()


def encoding_name_for_model(model: str) -> tuple[str, bool]:
    """The encoding to count `model` with, and whether the count is exact."""
    bare = _bare_model(model)
    for prefix, name in _MODEL_ENCODINGS:
        if bare.startswith(prefix):
            return name, True
    return "o200k_base", False


@lru_cache(maxsize=4)
def _load_encoding(name: str) -> Any:
    from importlib import resources  # imported here: it costs ~15 ms of `import headroom`

    import tiktoken

    pattern, special = _ENCODINGS[name]
    raw = resources.files("headroom.core").joinpath(f"tokenizer_data/{name}.tiktoken").read_bytes()
    fields = (
        raw.split()
    )  # "<base64 token> <rank>" per line; one split and C-level maps are ~2x faster
    ranks = dict(zip(map(binascii.a2b_base64, fields[0::2]), map(int, fields[1::2]), strict=True))
    return tiktoken.Encoding(
        name=name, pat_str=pattern, mergeable_ranks=ranks, special_tokens=special
    )


def _encoding(name: str) -> Any:
    with _lock:  # loading takes ~0.1 s; do it once even under concurrent first calls
        return _load_encoding(name)


def _is_anthropic(model: str) -> bool:
    bare = model.lower()
    return "claude" in bare or bare.startswith("anthropic")


@lru_cache(maxsize=64)
def counter_for_model(model: str) -> TokenCounter:
    """A token counter for `model`: exact for OpenAI models, o200k with a margin otherwise."""
    name, exact = encoding_name_for_model(model)
    enc = _encoding(name)
    scale = 1.0 if exact else (ANTHROPIC_MARGIN if _is_anthropic(model) else 1.05)

    def count(text: str) -> int:
        if not text:
            return 0
        n = _encoded_length(enc, text)
        return n if scale == 1.0 else int(n * scale + 0.999)

    return count


def _encoded_length(enc: Any, text: str, chunk: int = _CHUNK) -> int:
    """Tokens of `text`, encoded in chunks cut where the count cannot change (see `_SAFE_CUT`)."""
    if len(text) <= chunk:
        return _chunk_length(enc, text)
    total = 0
    start = 0
    while start < len(text):
        cut = _SAFE_CUT.search(text, start + chunk - 1) if len(text) - start > chunk else None
        end = cut.end() if cut is not None else len(text)
        total += _chunk_length(enc, text[start:end])
        start = end
    return total


def _chunk_length(enc: Any, text: str) -> int:
    """Tokens of `text`; long whitespace runs are encoded in pieces (see `_RUN_PIECE`)."""
    if len(text) < _RUN_PIECE or _LONG_RUN.search(text) is None:
        return len(enc.encode_ordinary(text))
    total = 0
    position = 0
    for run in _LONG_RUN.finditer(text):
        if run.start() > position:
            total += len(enc.encode_ordinary(text[position : run.start()]))
        for start in range(run.start(), run.end(), _RUN_PIECE):
            total += len(enc.encode_ordinary(text[start : min(start + _RUN_PIECE, run.end())]))
        position = run.end()
    if position < len(text):
        total += len(enc.encode_ordinary(text[position:]))
    return total


def count_message_tokens(message: Any, count: TokenCounter) -> int:
    """Tokens a chat message costs: its texts, tool calls, images and framing."""
    from headroom.core.messages import message_pieces

    pieces, extra = message_pieces(message)
    return MESSAGE_OVERHEAD + extra + sum(count(p) for p in pieces)
