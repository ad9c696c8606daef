"""Modes and per-request overrides of `HeadroomClient`.

A request's ``headroom_*`` keyword arguments are Headroom's, never the SDK's:
they are taken out of the call and mapped onto a `CompressConfig`, so the
provider sees exactly the arguments it knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from headroom.core.config import CompressConfig
from headroom.exceptions import ConfigurationError

__all__ = ["MODES", "OVERRIDES", "Mode", "RequestOptions", "resolve_options", "split_overrides"]

Mode = Literal["optimize", "audit"]

#: optimize: send the compressed request; audit: send the original, record what would be saved.
MODES: tuple[Mode, ...] = ("optimize", "audit")

#: Per-request keyword -> the `CompressConfig` field it sets (None: handled separately).
OVERRIDES: dict[str, str | None] = {
    "headroom_mode": None,
    "headroom_output_buffer_tokens": "output_reserve",
    "headroom_keep_turns": "keep_last_turns",
    "headroom_tool_profiles": None,
}

#: Keys a tool profile may set, and what each does.
_PROFILE_KEYS = {"skip_compression": "never compress this tool's outputs"}


@dataclass(frozen=True)
class RequestOptions:
    """What Headroom does with one request."""

    mode: Mode
    config: CompressConfig


def check_mode(mode: object) -> Mode:
    """`mode` if it is a known mode.

    Raises:
        ConfigurationError: unknown mode (``simulate`` is a method, not a mode of `create`).
    """
    if mode == "simulate":
        raise ConfigurationError(
            "simulate is not a request mode: call client.chat.completions.simulate(...) "
            "or client.messages.simulate(...), which makes no API call",
            {"mode": mode},
        )
    if mode not in MODES:
        raise ConfigurationError(
            f"mode must be one of {', '.join(MODES)}, got {mode!r}", {"mode": mode}
        )
    return mode  # type: ignore[return-value]


def split_overrides(kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(headroom overrides, SDK kwargs)``; the caller's mapping is not changed.

    Raises:
        ConfigurationError: a ``headroom_*`` keyword Headroom does not know
            (a typo would otherwise reach the SDK as an unexpected argument).
    """
    ours = {k: v for k, v in kwargs.items() if k.startswith("headroom_")}
    unknown = sorted(set(ours) - set(OVERRIDES))
    if unknown:
        raise ConfigurationError(
            f"unknown Headroom option(s): {', '.join(unknown)}; known: {', '.join(OVERRIDES)}",
            {"unknown": unknown},
        )
    sdk = {k: v for k, v in kwargs.items() if k not in ours}
    return ours, sdk


def _protected_tools(profiles: object) -> list[str]:
    if not isinstance(profiles, Mapping):
        raise ConfigurationError(
            "headroom_tool_profiles must map a tool name to a profile dict",
            {"headroom_tool_profiles": profiles},
        )
    protected = []
    for tool, profile in profiles.items():
        if not isinstance(tool, str) or not isinstance(profile, Mapping):
            raise ConfigurationError(
                f"tool profile for {tool!r} must be a dict such as {{'skip_compression': True}}",
                {"tool": tool},
            )
        unknown = sorted(set(profile) - set(_PROFILE_KEYS))
        if unknown:
            raise ConfigurationError(
                f"unknown tool profile key(s) for {tool!r}: {', '.join(map(str, unknown))}; "
                f"known: {', '.join(_PROFILE_KEYS)}",
                {"tool": tool, "unknown": unknown},
            )
        skip = profile.get("skip_compression", False)
        if not isinstance(skip, bool):
            raise ConfigurationError(
                f"skip_compression for {tool!r} must be true or false", {"tool": tool}
            )
        if skip:
            protected.append(tool)
    return protected


def resolve_options(
    default_mode: Mode, config: CompressConfig, overrides: Mapping[str, Any]
) -> RequestOptions:
    """The mode and config of one request: the client's defaults with `overrides` applied.

    Raises:
        ConfigurationError: an override has a wrong type or value.
    """
    mode = check_mode(overrides.get("headroom_mode", default_mode))
    changes: dict[str, Any] = {}
    for key, field_name in OVERRIDES.items():
        if field_name is not None and key in overrides:
            changes[field_name] = overrides[key]
    if "headroom_tool_profiles" in overrides:
        tools = _protected_tools(overrides["headroom_tool_profiles"])
        changes["protect_tools"] = tuple(dict.fromkeys([*config.protect_tools, *tools]))
    try:
        cfg = config.replace(**changes) if changes else config
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"invalid Headroom override: {exc}", {**exc.details, **changes}
        ) from exc
    return RequestOptions(mode, cfg)
