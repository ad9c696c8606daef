"""Token counting works offline and is exact for OpenAI models."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.core.tokens import (
    ANTHROPIC_MARGIN,
    _encoded_length,
    _encoding,
    counter_for_model,
    encoding_name_for_model,
)


def test_exact_known_counts() -> None:
    assert counter_for_model("gpt-4o")("hello world") == 2
    assert counter_for_model("gpt-4")("hello world") == 2
    assert counter_for_model("openai/gpt-4o-mini")("") == 0


def test_model_table() -> None:
    assert encoding_name_for_model("gpt-4o-2024-08-06") == ("o200k_base", True)
    assert encoding_name_for_model("azure/gpt-35-turbo")[1] is False
    assert encoding_name_for_model("gpt-3.5-turbo") == ("cl100k_base", True)
    assert encoding_name_for_model("claude-sonnet-4-5") == ("o200k_base", False)


def test_claude_counts_with_a_margin() -> None:
    text = "def f(x):\n    return {'a': [1, 2, 3]}\n" * 50
    exact = counter_for_model("gpt-4o")(text)
    assert counter_for_model("claude-sonnet-4-5")(text) >= int(exact * ANTHROPIC_MARGIN)


def test_loads_without_network() -> None:
    # The child refuses every connection itself: patching `socket` here, in the
    # parent, would guard nothing the child does.
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('no network')\n"
        "socket.socket.connect = refuse; socket.create_connection = refuse\n"
        "from headroom.core.tokens import counter_for_model\n"
        "print(counter_for_model('gpt-4o')('offline tokens'), counter_for_model('gpt-3.5-turbo')('x y'))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "TIKTOKEN_CACHE_DIR": "/nonexistent-dir"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", "2"]


@pytest.mark.parametrize("blank", [" ", "\t", "\n "])
def test_long_whitespace_runs_are_counted(blank: str) -> None:
    # tiktoken's own encoder panics (a BaseException) on a run of ~1,000,000 spaces.
    count = counter_for_model("gpt-4o")
    run = blank * (1_000_000 // len(blank))
    assert count(f"before{run}after") > count(run) > 0
    piece = count(blank * (8192 // len(blank)))
    assert count(run) <= piece * (len(run) // 8192 + 1)


def test_import_headroom_pulls_in_no_framework() -> None:
    code = (
        "import sys, headroom\n"
        "heavy = [m for m in ('langchain_core', 'agno', 'litellm', 'starlette', 'fastapi', 'httpx', 'redis')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


_ALPHABET = (
    "abcXYZ019 '\"\n\n\n\r\t.,:;/-_{}[]()<>=+*&%$#@!?\\|`~^"
    "\u00e9\u00df\u0301\u4e2d\u6587\u0434\u0430\u00a0\u2003\U0001f600\u0663"
    "\x0b\x0c\x1c\x85\u2028\u3000"
)


@settings(max_examples=400, deadline=None)
@given(
    text=st.text(alphabet=_ALPHABET, max_size=300),
    chunk=st.integers(min_value=1, max_value=40),
    encoding=st.sampled_from(["gpt-4o", "gpt-4"]),
)
def test_chunked_counts_equal_one_encode(text: str, chunk: int, encoding: str) -> None:
    # Chunks are cut only where the pre-tokenizer splits anyway: the count is exact.
    name, _ = encoding_name_for_model(encoding)
    enc = _encoding(name)
    assert _encoded_length(enc, text, chunk) == len(enc.encode_ordinary(text))


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4"])
def test_chunked_counts_on_realistic_text(model: str) -> None:
    rnd = random.Random(3)
    words = ["don't", "HTTPServer", "x1", "42", '{"a": 1}', "naïve", "中文", "  ", "\n", "//", "'s"]
    text = "".join(rnd.choice(words) + rnd.choice(" \n,.;:\t") for _ in range(20_000))
    enc = _encoding(encoding_name_for_model(model)[0])
    assert _encoded_length(enc, text, 97) == len(enc.encode_ordinary(text))
    assert counter_for_model(model)(text) == len(enc.encode_ordinary(text))


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4"])
def test_long_outputs_count_as_one_plain_encode(model: str) -> None:
    # Above the chunk size, as compress() counts a large tool output: logs, minified
    # JSON, CJK prose without ASCII words, indented code; exact, token for token.
    rnd = random.Random(11)
    logs = "\n".join(
        f"2025-03-11T08:{i % 60:02d}:00Z INFO [w-{i % 7}] GET /a/{i} 200" for i in range(9000)
    )
    data = json.dumps(
        [{"id": i, "name": f"n{rnd.random()}", "ok": i % 3 == 0} for i in range(6000)]
    )
    cjk = "\n".join(
        "".join(rnd.choice("中文字节码测试，。") for _ in range(80)) for _ in range(4000)
    )
    code = "\n".join(
        f"    def f{i}(self):\n        return {{'k': {i}}}  # don't" for i in range(6000)
    )
    enc = _encoding(encoding_name_for_model(model)[0])
    for text in (logs, data, cjk, code):
        assert len(text) > 2**18
        assert counter_for_model(model)(text) == len(enc.encode_ordinary(text))


def test_runs_just_under_the_piece_size_count_exactly() -> None:
    # Runs of blanks shorter than a piece are encoded whole, wherever they sit.
    text = ("x" + " " * 8000 + "\n\t" * 3) * 40 + " " * 9000 + "end"
    enc = _encoding("o200k_base")
    assert _encoded_length(enc, text[:-9003], 2**18) == len(enc.encode_ordinary(text[:-9003]))
    assert counter_for_model("gpt-4o")(text) > counter_for_model("gpt-4o")(text[:-9003])
