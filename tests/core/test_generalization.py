"""Cases unlike the corpus (other languages, formats and questions) keep their answers.

Each builds a realistic tool output, asks either before the call (the request
is known when the output is compressed) or after it (recall must surface the
answer), and checks the facts the answer depends on are still in the request.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from headroom import compress
from tests.conftest import needle_present


def conversation(
    output: str, question: str, *, asked_first: bool, tool: str = "tool"
) -> list[dict[str, Any]]:
    call = {"id": "c1", "type": "function", "function": {"name": tool, "arguments": "{}"}}
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are an agent with tools."},
        {"role": "user", "content": question if asked_first else "Fetch it, please."},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": output},
    ]
    if not asked_first:
        messages += [
            {"role": "assistant", "content": "Done."},
            {"role": "user", "content": question},
        ]
    return messages


def check(
    output: str, question: str, needles: list[str], min_saving: float = 0.3, **kwargs: Any
) -> None:
    for asked_first in (True, False):
        result = compress(conversation(output, question, asked_first=asked_first, **kwargs))
        lost = [n for n in needles if not needle_present(n, result.messages)]
        assert not lost, f"asked_first={asked_first}: lost {lost}"
        assert result.compression_ratio > min_saving, result.transforms_applied


def test_go_source() -> None:
    funcs = [
        f"// helper{i} does thing {i}.\nfunc helper{i}(a int, b string) (int, error) {{\n"
        f'\tif a < 0 {{\n\t\treturn 0, fmt.Errorf("helper{i}: negative input %d", a)\n\t}}\n'
        f"\tx := a * {i}\n\tfor j := 0; j < x; j++ {{\n\t\tx += j\n\t}}\n\treturn x, nil\n}}\n"
        for i in range(40)
    ]
    source = 'package main\n\nimport (\n\t"fmt"\n)\n\n' + "\n".join(funcs)
    check(
        source,
        "What does `helper27` do, and which error message does it return for bad input?",
        ["func helper27(a int, b string) (int, error) {", "helper27: negative input %d"],
    )


def test_java_source() -> None:
    methods = "\n".join(
        f"    public int method{i}(int a) {{\n        if (a < 0) {{\n"
        f'            throw new IllegalArgumentException("method{i} needs a positive value");\n'
        f"        }}\n        int b = a * {i};\n        return b + 1;\n    }}\n"
        for i in range(50)
    )
    source = f"package x;\nimport java.util.*;\n\npublic class Store {{\n{methods}}}\n"
    check(
        source,
        "In Store.java, what does `method33` throw for bad input?",
        ["public int method33(int a) {", "method33 needs a positive value"],
    )


def test_logcat_error_lines() -> None:
    lines = [
        f"12-17 19:{i // 60:02d}:{i % 60:02d}.{i:03d}  1795  {1800 + i % 9} I ActivityManager: "
        f"Start proc {1000 + i}:com.app{i % 13}/u0a{i % 50} for service"
        for i in range(600)
    ]
    lines[333] = (
        "12-17 19:05:33.333  1795  1802 E AndroidRuntime: Process com.app7 crashed on libfoo.so"
    )
    lines[444] = (
        "12-17 19:07:24.444  1795  1804 E WindowManager: Surface allocation rejected for 0x7f3a"
    )
    check(
        "\n".join(lines),
        "Which E-level lines does this logcat excerpt contain?",
        ["Process com.app7 crashed on libfoo.so", "Surface allocation rejected for 0x7f3a"],
    )


def test_geojson_single_flagged_event() -> None:
    rng = random.Random(1)
    features = [
        {
            "type": "Feature",
            "properties": {
                "mag": round(rng.uniform(2, 6), 1),
                "place": f"{rng.randint(1, 90)} km N of Town{i}",
                "tsunami": 0,
                "title": f"M quake {i}",
            },
            "geometry": {
                "type": "Point",
                "coordinates": [rng.uniform(-180, 180), rng.uniform(-90, 90)],
            },
            "id": f"us{i:06d}",
        }
        for i in range(300)
    ]
    features[123]["properties"]["tsunami"] = 1
    check(
        json.dumps({"type": "FeatureCollection", "features": features}),
        "Which event carries the tsunami flag?",
        ["us000123", "M quake 123"],
    )


def test_bottom_k_and_lookup_records() -> None:
    rng = random.Random(2)
    rows = [
        {
            "sku": f"SKU-{i:04d}",
            "name": f"product {rng.choice(['alpha', 'beta', 'gamma'])} {i}",
            "price": round(rng.uniform(5, 500), 2),
            "stock": rng.randint(0, 900),
        }
        for i in range(400)
    ]
    cheapest = sorted(rows, key=lambda r: r["price"])[:3]
    check(
        json.dumps(rows, indent=2),
        "Which 3 products are the cheapest? Give sku and price.",
        [r["sku"] for r in cheapest],
    )
    check(
        json.dumps(rows, indent=2),
        f"How many units of {rows[217]['sku']} are in stock?",
        [rows[217]["name"]],
    )


def test_markdown_table_top_value() -> None:
    rng = random.Random(3)
    populations = [rng.randint(1000, 9_000_000) for _ in range(300)]
    table = "| id | city | population |\n|---|---|---|\n" + "\n".join(
        f"| {i} | City{i} | {p} |" for i, p in enumerate(populations)
    )
    biggest = max(range(300), key=lambda i: populations[i])
    check(
        table,
        "Which city has the largest population?",
        [f"City{biggest}", str(populations[biggest])],
    )


def test_git_log_file_owner() -> None:
    rng = random.Random(4)
    commits = []
    target = ("", "")
    for i in range(60):
        sha = "".join(rng.choice("0123456789abcdef") for _ in range(40))
        files = [f"src/mod{rng.randint(0, 30)}.py" for _ in range(3)]
        author = f"Dev{i % 5}"
        if i == 37:
            files, author, target = ["docs/special_guide.md"], "Ada Lovelace", (sha, "Ada Lovelace")
        stat = "\n".join(f" {f} | {rng.randint(1, 40)} +++--" for f in files)
        commits.append(
            f"commit {sha}\nAuthor: {author} <dev{i}@x.org>\nDate:   Mon Mar {i % 28 + 1} 10:00:00 2021 +0000\n\n"
            f"    change {i}\n\n{stat}\n {len(files)} files changed\n"
        )
    check(
        "\n".join(commits),
        "Which commit touched docs/special_guide.md, and who wrote it?",
        list(target),
        min_saving=0.15,
        tool="bash",
    )


@pytest.mark.parametrize("n", [40, 200])
def test_grep_with_context_lines(n: int) -> None:
    lines = []
    for i in range(n):
        lines += [
            f"pkg/file{i % 9}.ts-{i * 3}-  const a{i} = 1;",
            f"pkg/file{i % 9}.ts:{i * 3 + 1}:  useThing{i}();",
            "--",
        ]
    lines += ["pkg/special.ts:77:  export function renderWidgetTree(root) {"]
    check(
        "\n".join(lines),
        "Where is `renderWidgetTree` defined?",
        ["pkg/special.ts", "export function renderWidgetTree(root) {"],
    )
