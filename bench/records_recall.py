"""Recall per class of planted fact on generated records (the generalization suite's data).

    PYTHONPATH=. python bench/records_recall.py [--seeds 3] [--rows 400]

For each class of fact (error row, rare shape, extreme, rare category, Nth
highest, ...), each output format (JSON, nested API JSON, NDJSON, Python repr,
psql, CSV, Markdown), each way of asking (naming the record's id, or describing
it in words) and each position of the question (before the output, right
after, several turns later), compresses the conversation with
`headroom.compress` and checks the record's id survives. Prints recall per
class, per format and per position, and the token-weighted saving.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from headroom import compress  # noqa: E402
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
    return 0 if not misses else 1


if __name__ == "__main__":
    raise SystemExit(main())
