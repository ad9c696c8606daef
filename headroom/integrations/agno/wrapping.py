"""How `HeadroomAgnoModel(model)` becomes an instance of the model's own class.

For each provider class (`OpenAIChat`, `Claude`, ...) one subclass is made, the
first time it is wrapped: bases ``(HeadroomAgnoModel, provider)``, the
provider's name (agno recognises native reasoning models by class name), and
made a dataclass, so `dataclasses` calls and copies carry the provider's fields
and Headroom's ``headroom_`` ones. Wrapping copies the provider's attributes
into an instance of that subclass; pickling rebuilds the subclass from the
provider class.
"""

from __future__ import annotations

import dataclasses
import threading
from abc import ABCMeta
from typing import Any

from agno.models.base import Model

from headroom.core import CCRStore, CompressConfig, CompressionHooks, TokenCounter
from headroom.core.options import DEFAULT_MAX_RETRIEVE_ROUNDS, retrieve_tool_mode
from headroom.exceptions import ConfigurationError
from headroom.integrations.agno.stats import new_totals

__all__ = ["Wrapping", "rebuild", "subclass_for", "wrap"]


class Wrapping(ABCMeta):
    """Calling the public class wraps a model; its per-provider subclasses construct as dataclasses."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if "_headroom_root" in cls.__dict__:
            return wrap(cls, *args, **kwargs)
        return super().__call__(*args, **kwargs)


_CLASSES: dict[tuple[type, type[Model]], type[Any]] = {}
_CLASSES_LOCK = threading.Lock()


def subclass_for(root: type, provider: type[Model]) -> type[Any]:
    """The wrapper class for one provider class, made once (also when threads race)."""
    cls = _CLASSES.get((root, provider))
    if cls is None:
        with _CLASSES_LOCK:
            cls = _CLASSES.get((root, provider)) or _make_subclass(root, provider)
            _CLASSES[(root, provider)] = cls
    return cls


def _make_subclass(root: type, provider: type[Model]) -> type[Any]:
    namespace: dict[str, Any] = {
        "__module__": root.__module__,
        "__qualname__": f"{root.__qualname__}[{provider.__qualname__}]",
        "__doc__": f"{provider.__name__}, compressed by Headroom (see `{root.__name__}`).",
        "_headroom_provider": provider,
    }
    cls: type[Any] = Wrapping(provider.__name__, (root, provider), namespace)
    # The provider's fields first, then the `headroom_` fields declared on `root`.
    return dataclasses.dataclass(eq=False, repr=False)(cls)


def rebuild(root: type, provider: type[Model], state: dict[str, Any]) -> Any:
    """A wrapper of class `provider` with `state` as its attributes (also the unpickler)."""
    wrapper = object.__new__(subclass_for(root, provider))
    wrapper.__dict__.update(state)
    return wrapper


def wrap(
    root: type,
    model: Model,
    *,
    config: CompressConfig | None = None,
    hooks: CompressionHooks | None = None,
    store: CCRStore | None = None,
    token_counter: TokenCounter | None = None,
    model_limit: int | None = None,
    retrieve_tool: Any = "auto",
    max_retrieve_rounds: int = DEFAULT_MAX_RETRIEVE_ROUNDS,
) -> Any:
    """`model`'s attributes in an instance of its wrapper class, with Headroom's settings."""
    if isinstance(model, root):
        raise TypeError("the model is already a HeadroomAgnoModel; wrap the provider model once")
    if not isinstance(model, Model):
        raise TypeError(
            f"HeadroomAgnoModel wraps an agno Model (e.g. OpenAIChat, Claude, LiteLLM); got {model!r}"
        )
    if not isinstance(max_retrieve_rounds, int) or max_retrieve_rounds < 0:
        raise ConfigurationError(
            f"max_retrieve_rounds must be an int >= 0, not {max_retrieve_rounds!r}"
        )
    settings = {
        "headroom_config": config or CompressConfig(),
        "headroom_hooks": hooks,
        "headroom_store": store,
        "headroom_token_counter": token_counter,
        "headroom_model_limit": model_limit,
        "headroom_retrieve_tool": retrieve_tool_mode(retrieve_tool),
        "headroom_max_retrieve_rounds": max_retrieve_rounds,
        "headroom_totals": new_totals(),
        "headroom_last_result": None,
    }
    return rebuild(root, type(model), {**model.__dict__, **settings})
