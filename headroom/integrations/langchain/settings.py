"""How `HeadroomChatModel` takes on the model it wraps: parameters, run identity, configs.

Standard parameters set on the wrapper go to (a copy of) the wrapped model when
it has the field, else with every call; the wrapped model's callbacks, tags,
metadata and profile become the wrapper's, since the run is the wrapper's. A
configurable model (`init_chat_model(configurable_fields=...)`) is wrapped by
its default model, and each call whose config selects another model runs
through a wrapper around that one, sharing the savings counters.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig

from headroom.integrations.langchain import calls

if TYPE_CHECKING:
    from headroom.integrations.langchain.chat_model import HeadroomChatModel

__all__ = ["STANDARD_PARAMS", "adopt", "for_call", "unwrap_configurable"]

logger = logging.getLogger("headroom")

#: Standard LangChain parameters the wrapper accepts and hands to the wrapped model.
STANDARD_PARAMS = ("temperature", "max_tokens", "timeout", "max_retries", "streaming")


def _field_for(model: BaseChatModel, name: str) -> str | None:
    """The wrapped model's field for a standard parameter, matched by name or alias."""
    fields = type(model).model_fields
    if name in fields:
        return name
    for field_name, info in fields.items():
        if name in (info.alias, info.validation_alias):
            return field_name
    return None


def adopt(llm: HeadroomChatModel) -> None:
    """Forward the standard parameters and take over the wrapped model's run identity."""
    updates: dict[str, Any] = {}
    for name in STANDARD_PARAMS:
        value = getattr(llm, name)
        if name not in llm.model_fields_set or value is None:
            continue
        target = _field_for(llm.wrapped_model, name)
        if target is not None:
            updates[target] = value
        elif name == "streaming":  # a mode of the model, not a request parameter
            if value:  # "not streaming" needs no field
                logger.warning(
                    "headroom: %s has no 'streaming' field; use .stream() instead",
                    type(llm.wrapped_model).__name__,
                )
        else:
            calls.state(llm).extra_kwargs[name] = value
    if llm.callbacks is None and llm.wrapped_model.callbacks is not None:
        llm.callbacks = llm.wrapped_model.callbacks
        updates["callbacks"] = None  # they see the wrapper's run (rounds are its child runs)
    if updates:
        llm.wrapped_model = llm.wrapped_model.model_copy(update=updates)
    inner = llm.wrapped_model
    if "output_version" not in llm.model_fields_set:
        llm.output_version = inner.output_version
    if llm.tags is None:
        llm.tags = inner.tags
    if inner.metadata:
        llm.metadata = {**inner.metadata, **(llm.metadata or {})}
    llm.verbose = llm.verbose or inner.verbose
    if llm.profile is None:
        llm.profile = inner.profile


def unwrap_configurable(kwargs: dict[str, Any]) -> Any:
    """A configurable model passed as `wrapped_model` (replaced by its default), or None."""
    inner: Any = kwargs.get("wrapped_model")
    if isinstance(inner, BaseChatModel) or not callable(getattr(inner, "_model_params", None)):
        return None
    kwargs["wrapped_model"] = inner._model()
    return inner


def for_call(llm: HeadroomChatModel, config: RunnableConfig | None) -> HeadroomChatModel:
    """`llm`, or a wrapper around the model a configurable model's `config` selects."""
    configurable = calls.state(llm).configurable
    if configurable is None or not configurable._model_params(config):
        return llm
    settings = {k: getattr(llm, k) for k in llm.model_fields_set if k != "wrapped_model"}
    copy = type(llm)(configurable._model(config), **settings)
    calls.state(copy).totals = calls.state(llm).totals
    return copy
