"""Recall per class of planted fact on generated records (the generalization suite's data).

    PYTHONPATH=. python bench/records_recall.py [--seeds 3] [--rows 400]

For each class of fact (error row, rare shape, extreme, rare category, Nth
highest, ...), each output format (JSON, nested API JSON, NDJSON, Python repr,
psql, CSV, Markdown), each way of asking (naming the record's id, or describing
it in words) and each position of the question (before the output, right
after, several turns later), compresses the conversation with
`headroom.compress` and checks the record's id survives. Prints recall per
class, per format and per position, and the token-weighted saving; then the cost
of relevance for a 100k-character question in front of a 1 MB output, as a ratio
to one tiktoken pass over the same output.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from headroom import compress  # noqa: E402
from headroom.core.relevance import Relevance  # noqa: E402
from headroom.core.tokens import counter_for_model  # noqa: E402
from tests.conftest import needle_present  # noqa: E402
from tests.core.records_gen import (  # noqa: E402
    CLASSES,
    FORMATS,
    POSITIONS,
    conversation,
    plant,
    render,
)

__all__ = ["main"]


def relevance_cost() -> None:
    """Time scoring 1 MB of lines against a 100k-character question."""
    rng = random.Random(0)
    words = [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 10)))
        for _ in range(30_000)
    ]
    question = " ".join(rng.choice(words) for _ in range(15_000))[:100_000]
    lines: list[str] = []
    size = 0
    while size < 1_000_000:
        line = f"2024-01-01 10:00:{len(lines) % 60:02d} INFO svc user={rng.choice(words)} ok"
        lines.append(line)
        size += len(line) + 1
    count = counter_for_model("gpt-4o")
    start = time.perf_counter()
    count("\n".join(lines))
    tiktoken_s = time.perf_counter() - start
    start = time.perf_counter()
    Relevance.from_texts([question]).top(lines, 10)
    relevance_s = time.perf_counter() - start
    print(
        f"relevance, 100k-char question x 1 MB output: {relevance_s:.2f} s "
        f"({relevance_s / tiktoken_s:.1f}x one tiktoken pass of {tiktoken_s:.2f} s)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=400)
    args = parser.parse_args(argv)
    hits: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    before = after = 0
    misses: list[str] = []
    for seed in range(args.seeds):
        for kind in CLASSES:
            for fmt in FORMATS:
                rng = random.Random(f"{seed}-{kind}-{fmt}")
                planted = plant(kind, rng, args.rows)
                output = render(planted.records, fmt, rng)
                for way, question in (("literal", planted.literal), ("words", planted.described)):
                    for position in POSITIONS:
                        messages = conversation(output, question, position, rng)
                        result = compress(messages)
                        ok = needle_present(planted.needle, result.messages)
                        before += result.tokens_before
                        after += result.tokens_after
                        for axis, key in (
                            ("class", kind),
                            ("format", fmt),
                            ("asked", way),
                            ("position", position),
                        ):
                            hits[axis][key][0] += ok
                            hits[axis][key][1] += 1
                        if not ok:
                            misses.append(f"{seed} {kind} {fmt} {way} {position}")
    for axis, table in hits.items():
        print(f"== recall by {axis} ==")
        for key, (good, total) in table.items():
            print(f"  {key:<16} {good:>4}/{total:<4} {100 * good / total:6.1f}%")
    total_good = sum(g for g, _ in hits["class"].values())
    total = sum(t for _, t in hits["class"].values())
    print(f"overall recall {100 * total_good / total:.1f}% ({total_good}/{total})")
    print(f"token-weighted saving {100 * (1 - after / before):.1f}%")
    for miss in misses[:30]:
        print("  lost:", miss)
    relevance_cost()
    return 0 if not misses else 1


if __name__ == "__main__":
    raise SystemExit(main())
