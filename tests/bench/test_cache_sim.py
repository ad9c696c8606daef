"""The prompt-cache replay prices prefixes as documented."""

from __future__ import annotations

from typing import Any

import pytest

from bench.cache_sim import (
    PRICINGS,
    Pricing,
    common_prefix,
    divergences,
    price,
    replay,
    request_points,
)


def test_request_points_follow_user_messages_and_tool_batches() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "q"},
        {"role": "assistant", "tool_calls": [{"id": "a"}, {"id": "b"}]},
        {"role": "tool", "tool_call_id": "a", "content": "1"},
        {"role": "tool", "tool_call_id": "b", "content": "2"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "next"},
    ]
    assert request_points(messages, "openai") == [1, 4, 6]


def test_request_points_anthropic_tool_results_are_user_messages() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t"}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]},
    ]
    assert request_points(messages, "anthropic") == [0, 2]


def test_common_prefix_counts_identical_leading_elements() -> None:
    assert common_prefix([("a", 1), ("b", 2)], [("a", 1), ("b", 2), ("c", 3)]) == 2
    assert common_prefix([("a", 1), ("x", 2)], [("a", 1), ("b", 2)]) == 1
    assert common_prefix([], [("a", 1)]) == 0


def test_stable_prefix_is_read_from_cache() -> None:
    requests = [[("s", 100), ("u", 10)], [("s", 100), ("u", 10), ("t", 50)]]
    costs = replay(requests)
    assert [(c.cached_tokens, c.uncached_tokens) for c in costs] == [(0, 110), (110, 50)]
    assert price(costs, Pricing("p", 0.1, 1.0)) == pytest.approx(110 + 11 + 50)
    assert price(costs, Pricing("a", 0.1, 1.25)) == pytest.approx(1.25 * 110 + 11 + 1.25 * 50)
    assert divergences(costs, requests, [1, 3], system_element=True) == []


def test_rewritten_history_is_billed_again_and_reported() -> None:
    first = [("s", 100), ("tool-v1", 40)]
    second = [("s", 100), ("tool-v2", 30), ("q", 5)]
    costs = replay([first, second])
    assert costs[1].cached_tokens == 100
    assert costs[1].uncached_tokens == 35
    assert costs[1].prefix_broken
    (d,) = divergences(costs, [first, second], [1, 2], system_element=True)
    assert (d.request, d.prefix_end, d.message_index, d.lost_tokens) == (1, 2, 0, 30)


def test_cost_ratio_of_a_compressed_replay() -> None:
    plain = [[("s", 10), ("big", 1000)], [("s", 10), ("big", 1000), ("q", 10)]]
    packed = [[("s", 10), ("small", 100)], [("s", 10), ("small", 100), ("q", 10)]]
    pricing = PRICINGS[0]
    ratio = price(replay(packed), pricing) / price(replay(plain), pricing)
    # plain: 1010 + 101 + 10 = 1121; packed: 110 + 11 + 10 = 131
    assert ratio == pytest.approx(131 / 1121)
