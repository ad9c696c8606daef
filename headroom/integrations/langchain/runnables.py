"""Swapping one runnable for another inside a composed runnable.

`bind_tools` and `with_structured_output` of the wrapped model return
runnables that call the wrapped model (a binding, or a sequence of a binding
and a parser, possibly inside a map with fallbacks). Rebuilding them around
the wrapper keeps the wrapped model's formatting and method exactly.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import (
    Runnable,
    RunnableBinding,
    RunnableParallel,
    RunnableSequence,
    RunnableWithFallbacks,
)
from langchain_core.runnables.passthrough import RunnableAssign

__all__ = ["reroute", "substitute"]


def substitute(runnable: Any, old: Runnable[Any, Any], new: Runnable[Any, Any]) -> tuple[Any, bool]:
    """`runnable` with every occurrence of `old` replaced by `new`, and whether any was."""
    if runnable is old:
        return new, True
    if isinstance(runnable, RunnableBinding):
        inner, found = substitute(runnable.bound, old, new)
        return (runnable.model_copy(update={"bound": inner}), True) if found else (runnable, False)
    if isinstance(runnable, RunnableSequence):
        steps = [substitute(step, old, new) for step in runnable.steps]
        if not any(found for _, found in steps):
            return runnable, False
        return RunnableSequence(*(step for step, _ in steps), name=runnable.name), True
    if isinstance(runnable, RunnableParallel):
        branches = {key: substitute(step, old, new) for key, step in runnable.steps__.items()}
        if not any(found for _, found in branches.values()):
            return runnable, False
        return RunnableParallel({key: step for key, (step, _) in branches.items()}), True
    if isinstance(runnable, RunnableAssign):
        mapper, found = substitute(runnable.mapper, old, new)
        return (
            (runnable.model_copy(update={"mapper": mapper}), True) if found else (runnable, False)
        )
    if isinstance(runnable, RunnableWithFallbacks):
        primary, found = substitute(runnable.runnable, old, new)
        fallbacks = [substitute(f, old, new) for f in runnable.fallbacks]
        if not found and not any(f for _, f in fallbacks):
            return runnable, False
        update = {"runnable": primary, "fallbacks": [f for f, _ in fallbacks]}
        return runnable.model_copy(update=update), True
    return runnable, False


def reroute(
    runnable: Any, old: Runnable[Any, Any], new: Runnable[Any, Any], method: str
) -> Runnable[Any, Any]:
    """`runnable` (returned by `old.<method>`) calling `new` instead; TypeError if it cannot."""
    rerouted: Runnable[Any, Any]
    rerouted, found = substitute(runnable, old, new)
    if not found:
        raise TypeError(
            f"{type(old).__name__}.{method} returned a {type(runnable).__name__} "
            "that does not call the model in a way Headroom can route through compression"
        )
    return rerouted
