"""Per-request overrides map onto `CompressConfig` and never reach the SDK."""

from __future__ import annotations

import pytest

from headroom.client.modes import OVERRIDES, resolve_options, split_overrides
from headroom.core.config import CompressConfig
from headroom.exceptions import ConfigurationError


def test_split_takes_out_only_headroom_keywords() -> None:
    kwargs = {"model": "gpt-4o", "messages": [], "headroom_mode": "audit", "temperature": 0}
    ours, sdk = split_overrides(kwargs)
    assert ours == {"headroom_mode": "audit"}
    assert sdk == {"model": "gpt-4o", "messages": [], "temperature": 0}
    assert "headroom_mode" in kwargs  # the caller's dict is not changed


def test_every_override_lands_in_the_config() -> None:
    base = CompressConfig(protect_tools=("fetch",))
    options = resolve_options(
        "optimize",
        base,
        {
            "headroom_mode": "audit",
            "headroom_output_buffer_tokens": 8000,
            "headroom_keep_turns": 5,
            "headroom_tool_profiles": {
                "search": {"skip_compression": True},
                "grep": {"skip_compression": False},
            },
        },
    )
    assert options.mode == "audit"
    assert options.config.output_reserve == 8000
    assert options.config.keep_last_turns == 5
    assert options.config.protect_tools == ("fetch", "search")
    assert set(OVERRIDES) == {
        "headroom_mode",
        "headroom_output_buffer_tokens",
        "headroom_keep_turns",
        "headroom_tool_profiles",
    }


def test_no_overrides_keep_the_clients_config() -> None:
    base = CompressConfig()
    assert resolve_options("audit", base, {}).config is base


@pytest.mark.parametrize(
    "overrides",
    [
        {"headroom_output_buffer_tokens": -1},
        {"headroom_keep_turns": "5"},
        {"headroom_tool_profiles": ["search"]},
        {"headroom_tool_profiles": {"search": {"skip_compression": "yes"}}},
        {"headroom_mode": "simulate"},
    ],
)
def test_bad_values_raise_configuration_errors(overrides: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        resolve_options("optimize", CompressConfig(), overrides)
