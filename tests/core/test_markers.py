"""Reading back the markers `marker()` writes."""

from __future__ import annotations

import random

import pytest

from headroom.core.ccr import content_hash
from headroom.core.markers import has_markers, replace_markers
from headroom.core.transforms.base import marker


def _hash(rng: random.Random) -> str:
    return content_hash(str(rng.random()))


@pytest.mark.parametrize("seed", range(5))
def test_every_marker_written_is_found_and_replaced(seed: int) -> None:
    rng = random.Random(seed)
    hashes = [_hash(rng) for _ in range(rng.randint(1, 4))]
    summaries = ["380 lines collapsed", "rows 4-97 of 120 omitted; columns: a, b", "x\ny [1]"]
    parts = []
    for h in hashes:
        parts.append(f"prose {rng.random()} ")
        parts.append(marker(rng.choice(summaries), h))
    text = "".join(parts) + " tail"

    new, found = replace_markers(text, lambda h: f"<{h}>")
    assert found == hashes
    assert "[headroom:" not in new and all(f"<{h}>" in new for h in hashes)
    kept, again = replace_markers(text, lambda h: None)
    assert kept == text and again == hashes


def test_markers_without_a_call_are_left_alone() -> None:
    text = f"a {marker('12 lines collapsed', None)} b"
    assert replace_markers(text, lambda h: "X") == (text, [])
    assert not has_markers([{"role": "tool", "content": text}])


def test_has_markers_reads_every_content_shape() -> None:
    written = marker("log collapsed", "0123456789abcdef")
    shapes = [
        written,
        [{"type": "text", "text": written}],
        [
            {
                "type": "tool_result",
                "tool_use_id": "t",
                "content": [{"type": "text", "text": written}],
            }
        ],
    ]
    for content in shapes:
        assert has_markers([{"role": "user", "content": "q"}, {"role": "tool", "content": content}])
    assert not has_markers([{"role": "tool", "content": "plain output"}, {"role": "user"}])
