"""The transform interface: one registered transform per kind, units, own-output recognition."""

from __future__ import annotations

import ast
import json
import random
from pathlib import Path
from typing import get_args

import pytest

from headroom.core.config import CompressConfig
from headroom.core.detect import Kind, detect_kind
from headroom.core.relevance import Relevance
from headroom.core.transforms import (
    TRANSFORMS,
    compress_text,
    is_own_output,
    transform_for,
    units_of,
)
from headroom.core.transforms.base import Job, Transform, is_marked, marker
from headroom.core.transforms.table_model import Table, render_table, renders_table, table_title

CORE = Path(__file__).resolve().parents[2] / "headroom" / "core"


def _job(text: str, question: str = "", **config: object) -> Job:
    return Job(
        text=text,
        relevance=Relevance.from_texts([question] if question else []),
        config=CompressConfig(**config),  # type: ignore[arg-type]
        ccr_hash="0123456789abcdef",
    )


def _samples(rng: random.Random) -> dict[str, str]:
    """One generated text of every kind, large enough for each transform to act."""
    words = ["alpha", "kernel", "queue", "retry", "socket", "shard", "cache", "token"]
    n = rng.randint(120, 200)
    records = [
        {"id": i, "host": f"h-{rng.choice(words)}-{i}", "ms": rng.randint(1, 900)} for i in range(n)
    ]
    functions = [
        f"    def {rng.choice(words)}_{i}(self, x):\n"
        + "\n".join(f"        x += {j}" for j in range(6))
        + "\n        return x"
        for i in range(30)
    ]
    commits = [
        f"commit {rng.getrandbits(160):040x}\nAuthor: Dev <d@x.org>\nDate:   Mon Jan 1 10:00:00 2024\n\n"
        f"    {rng.choice(words)} fix {i}\n\n src/{rng.choice(words)}.py | 2 +-\n 1 file changed"
        for i in range(20)
    ]
    return {
        "json": json.dumps(records),
        "csv": "id,host,ms\n" + "\n".join(f"{r['id']},{r['host']},{r['ms']}" for r in records),
        "table": " id | host | ms\n----+------+----\n"
        + "\n".join(f" {r['id']} | {r['host']} | {r['ms']}" for r in records),
        "log": "\n".join(
            f"2024-05-01 10:{i // 60 % 60:02d}:{i % 60:02d} INFO worker-{i % 7} {rng.choice(words)} ok"
            for i in range(n)
        ),
        "code": "class Pool:\n" + "\n\n".join(functions),
        "grep": "\n".join(
            f"src/{rng.choice(words)}.py:{i}:    call_{rng.choice(words)}({i})" for i in range(n)
        ),
        "rag": "\n\n".join(
            f"[{i}] Source: {rng.choice(words)}.md\n" + " ".join(rng.choices(words, k=80))
            for i in range(1, 12)
        ),
        "diff": "diff --git a/x b/x\n@@ -1,60 +1,60 @@\n"
        + "\n".join(f" same {i}" for i in range(60))
        + "\n-old\n+new",
        "gitlog": "\n\n".join(commits),
        "html": "<html><body>"
        + "".join(f'<p>{rng.choice(words)} <a href="/d/{i}">doc {i}</a></p>' for i in range(50))
        + "</body></html>",
        "text": " ".join(rng.choices([*words, "the", "and", "is"], k=600)),
    }


def test_every_detected_kind_has_exactly_one_transform_of_that_kind() -> None:
    assert set(TRANSFORMS) == set(get_args(Kind))
    for kind, transform in TRANSFORMS.items():
        assert isinstance(transform, Transform)
        assert transform.kind == kind


@pytest.mark.parametrize("seed", range(3))
def test_the_registry_dispatches_every_kind_by_detection(seed: int) -> None:
    samples = _samples(random.Random(seed))
    assert set(samples) == set(TRANSFORMS), "a kind has no sample: add one"
    for kind, text in samples.items():
        assert detect_kind(text) == kind, kind
        assert transform_for(text) is TRANSFORMS[kind]
        assert compress_text(_job(text, "retry")) == TRANSFORMS[kind].compress(_job(text, "retry"))


@pytest.mark.parametrize("seed", range(3))
def test_units_are_the_originals_own_text_aligned_with_what_they_are_searched_and_shown_by(
    seed: int,
) -> None:
    for kind, text in _samples(random.Random(seed)).items():
        units = units_of(text)
        assert units.parts, kind
        assert len(units.parts) == len(units.searched) == len(units.shown), kind
        if units.rows is not None:
            assert len(units.rows) == len(units.parts)
            assert [json.loads(p) for p in units.parts] == units.rows
            continue
        lines = set(text.splitlines())
        for part in units.parts:  # recall hands back the original's lines, never a rewrite
            assert all(line in lines for line in part.splitlines() if line.strip()), (kind, part)


def test_record_units_are_shown_as_the_lossless_table_writes_each_row() -> None:
    for kind, text in _samples(random.Random(7)).items():
        units = units_of(text)
        if units.rows is None:
            continue
        out = compress_text(_job(text, lossy=False))
        assert out is not None and not out.lossy, kind
        written = set(out.text.splitlines())
        assert all(shown in written for shown in units.shown), kind


def test_code_units_are_searched_by_their_qualified_name() -> None:
    units = units_of(_samples(random.Random(1))["code"])
    assert units.searched and all(s.startswith("Pool.") for s in units.searched)
    assert [s.split("\n", 1)[1] for s in units.searched] == list(units.parts)


def test_plain_text_in_ripgrep_heading_layout_is_split_into_match_groups() -> None:
    text = "src/a.py\n12:def f():\n13-    return 1\n--\n40:def g():\n\nsrc/b.py\n3:x = f()\n"
    assert detect_kind(text) == "text"
    assert list(units_of(text).parts) == [
        "src/a.py:12:def f():\nsrc/a.py:13-    return 1",
        "src/a.py:40:def g():",
        "src/b.py:3:x = f()",
    ]


@pytest.mark.parametrize("seed", range(3))
def test_every_transforms_output_is_recognised_as_its_own(seed: int) -> None:
    for kind, text in _samples(random.Random(seed)).items():
        assert not is_own_output(text), kind
        for config in ({}, {"lossy": False}):
            out = compress_text(_job(text, **config))
            if out is None:
                continue
            if out.lossy or out.name.endswith((":table", ":compact")):
                assert is_own_output(out.text), (kind, out.name)


def test_a_table_is_recognised_by_the_header_render_table_writes_and_nothing_else() -> None:
    table = Table(["a", "b"], [[1, 2], [3, 4]])
    assert renders_table(render_table(table))
    assert renders_table(render_table(table, title=f"{table_title(12)} "))
    assert renders_table(render_table(Table(["a"], [[1]], objects=['{"a":1}'])))
    assert not renders_table("we found 2 rows; columns: a|b\n1|2")
    assert not renders_table(f"{table_title(1)}2 rows; columns: a")  # no space after the title
    assert is_marked(marker("kept 3 of 9 rows", None))
    assert not is_own_output("a|b\n1|2")


def test_no_core_module_imports_another_modules_private_names() -> None:
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("headroom"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.relative_to(CORE)} imports {private} from {node.module}"
