"""Convert in: a call's messages compressed where LangChain starts the run.

`generate` and `stream` compress before LangChain opens the run, so the
trace's input is what the provider receives, and register the prepared
request; the model paths (`rounds.py`) find it by the identity of its messages.
Whether `headroom_retrieve` is offered is decided here, before compression,
so markers name the call only when the model can make it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableBinding

from headroom import CompressConfig
from headroom.core.ccr import is_retrieve_name, retrieve_tool_openai
from headroom.core.counters import Counters
from headroom.core.options import retrieve_tool_mode
from headroom.integrations.langchain.compression import Compressed, compress_messages, model_name_of
from headroom.integrations.langchain.streaming import (
    ChatRequest,
    ChatRetrieveAdapter,
    tool_name,
)

if TYPE_CHECKING:
    from headroom.integrations.langchain.chat_model import HeadroomChatModel

__all__ = [
    "OFF_LOOP_CHARS",
    "Prepared",
    "State",
    "aprepare",
    "find",
    "is_large",
    "offer_kwargs",
    "prepare",
    "registered",
    "run_kwargs",
    "start_stats",
]

#: Above this many characters of input, async calls compress in a worker thread:
#: compressing ~1 MB takes about a second, which must not stall the event loop.
OFF_LOOP_CHARS = 16_000


class State:
    """What a wrapper keeps between calls, in one plain object.

    Reading a pydantic private attribute costs ~2 µs (it goes through
    `__getattr__`), and a call read a dozen: this one is read once per step.
    """

    __slots__ = ("configurable", "extra_kwargs", "pending", "retrieve_tools", "tokenizer", "totals")

    def __init__(self) -> None:
        self.totals = Counters("calls", "tokens_saved")  # shared with configured copies
        self.extra_kwargs: dict[str, Any] = {}  # standard params the wrapped model has no field for
        self.retrieve_tools: list[Any] | None = None  # as the wrapped model's bind_tools formats it
        self.pending: dict[tuple[int, ...], list[Prepared]] = {}
        self.configurable: Any = None  # a configurable model this wrapper stands for
        self.tokenizer: tuple[Any, str | None, str] = (None, None, "")


def state(llm: HeadroomChatModel) -> State:
    """The wrapper's `State` (read past pydantic's slow private-attribute path)."""
    return cast("State", llm.__pydantic_private__["_state"])  # type: ignore[index]


def tokenizer_name(llm: HeadroomChatModel) -> str:
    """`tokenizer_model`, else the wrapped model's name (remembered: looking it up is slow)."""
    st, model = state(llm), llm.wrapped_model
    if st.tokenizer[0] is not model or st.tokenizer[1] != llm.tokenizer_model:
        st.tokenizer = (model, llm.tokenizer_model, llm.tokenizer_model or model_name_of(model))
    return st.tokenizer[2]


@dataclass(frozen=True, eq=False)
class Prepared:
    """One message list after compression, and whether the retrieve loop runs for it."""

    compressed: Compressed
    offer: bool
    stats: dict[str, Any]
    callbacks: Any = None  # for the rounds' child runs of a stream (see `rounds.for_stream`)


def _key(messages: Sequence[BaseMessage]) -> tuple[int, ...]:
    return tuple(map(id, messages))


def retrieve_tools(llm: HeadroomChatModel) -> list[Any]:
    """`headroom_retrieve` formatted by the wrapped model's own `bind_tools`."""
    st = state(llm)
    if st.retrieve_tools is None:
        try:
            bound = llm.wrapped_model.bind_tools([retrieve_tool_openai()])
        except NotImplementedError:
            st.retrieve_tools = []
        else:
            tools = bound.kwargs.get("tools") if isinstance(bound, RunnableBinding) else None
            st.retrieve_tools = list(tools) if isinstance(tools, list) else []
    return st.retrieve_tools


def _may_offer(llm: HeadroomChatModel, kwargs: dict[str, Any]) -> bool:
    """Whether the retrieve tool would be offered if compression leaves a marker."""
    mode = llm.retrieve_tool if llm.ccr_retrieve is None else retrieve_tool_mode(llm.ccr_retrieve)
    enabled = mode == "always" or (mode == "auto" and bool(kwargs.get("tools")))
    if not enabled or llm.max_retrieve_rounds == 0 or not retrieve_tools(llm):
        return False
    choice = kwargs.get("tool_choice")
    if isinstance(choice, dict) or (
        isinstance(choice, str) and choice not in ("auto", "any", "required")
    ):
        return False  # a forced tool (or none): the model could not call headroom_retrieve
    existing = kwargs.get("tools") or []
    # a caller's own headroom_retrieve is theirs to answer
    return isinstance(existing, list) and not any(is_retrieve_name(tool_name(t)) for t in existing)


@lru_cache(maxsize=64)
def _without_tool_call(config: CompressConfig) -> CompressConfig:
    """`config` with markers that name no call (memoized: validation costs ~50 µs)."""
    return config.replace(markers_name_tool=False)


def prepare(
    llm: HeadroomChatModel, messages: Sequence[BaseMessage], kwargs: dict[str, Any]
) -> Prepared:
    """Compress `messages`; markers name the retrieve call only if it will be offered."""
    st = state(llm)
    may_offer = _may_offer(llm, {**st.extra_kwargs, **kwargs} if st.extra_kwargs else kwargs)
    config = llm.config if may_offer else _without_tool_call(llm.config)
    compressed = compress_messages(
        messages,
        model=tokenizer_name(llm),
        config=config,
        hooks=llm.hooks,
        store=llm.store,
        model_limit=llm.model_limit,
    )
    st.totals.add({"calls": 1, "tokens_saved": compressed.tokens_saved})
    return Prepared(compressed, may_offer and bool(compressed.ccr_hashes), compressed.stats())


async def aprepare(
    llm: HeadroomChatModel, messages: Sequence[BaseMessage], kwargs: dict[str, Any]
) -> Prepared:
    """`prepare`, in a worker thread when the input is large."""
    if not is_large(messages):
        return prepare(llm, messages, kwargs)
    return await asyncio.to_thread(prepare, llm, messages, kwargs)


def is_large(messages: Sequence[BaseMessage]) -> bool:
    """Whether compressing `messages` could stall an event loop (`OFF_LOOP_CHARS`)."""
    return (
        sum(len(m.content) if isinstance(m.content, str) else len(str(m.content)) for m in messages)
        >= OFF_LOOP_CHARS
    )


def offer_kwargs(
    llm: HeadroomChatModel, kwargs: dict[str, Any], prepared: Sequence[Prepared]
) -> dict[str, Any]:
    """The call's kwargs, with `headroom_retrieve` when it is offered (so traces show it)."""
    if not any(p.offer for p in prepared):
        return kwargs
    existing = list(kwargs.get("tools") or state(llm).extra_kwargs.get("tools") or [])
    return {**kwargs, "tools": [*existing, *retrieve_tools(llm)]}


def start_stats(prepared: Prepared) -> dict[str, Any]:
    """The stats a run starts with (retrieval rounds are added when it ends)."""
    return {**prepared.stats, "retrieval_rounds": 0}


def run_kwargs(
    llm: HeadroomChatModel, kwargs: dict[str, Any], prepared: Sequence[Prepared]
) -> dict[str, Any]:
    """`generate` kwargs: `headroom_retrieve` when offered, the stats in the run's metadata."""
    kwargs = offer_kwargs(llm, kwargs, prepared)
    if len(prepared) != 1:
        return kwargs
    return {
        **kwargs,
        "metadata": {**(kwargs.get("metadata") or {}), "headroom": start_stats(prepared[0])},
    }


class registered:
    """Make prepared requests findable by the model paths for the length of a call.

    A list per key: concurrent calls may share message objects.
    """

    def __init__(self, llm: HeadroomChatModel, prepared: Sequence[Prepared]) -> None:
        self.pending = state(llm).pending
        self.entries = [(_key(p.compressed.messages), p) for p in prepared]

    def __enter__(self) -> None:
        for key, entry in self.entries:
            self.pending.setdefault(key, []).append(entry)

    def __exit__(self, *exc: object) -> None:
        for key, entry in self.entries:
            entries = self.pending.get(key, [])
            entries[:] = [e for e in entries if e is not entry]
            if not entries:
                self.pending.pop(key, None)


def find(
    llm: HeadroomChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
) -> tuple[Prepared, ChatRequest, dict[str, Any], list[str] | None]:
    """For messages a model path got: their prepared request, the loop's first request,
    its options and the stop words."""
    st = state(llm)
    entries = st.pending.get(_key(messages))
    prepared = entries[-1] if entries else None
    if prepared is None:  # called below `generate` (e.g. by a test harness)
        prepared = prepare(llm, messages, kwargs)
        kwargs = offer_kwargs(llm, kwargs, [prepared])
    tools = retrieve_tools(llm) if prepared.offer or kwargs.get("tools") else []
    adapter = ChatRetrieveAdapter(tools, prepared.stats)
    request = ChatRequest(prepared.compressed.messages, {**st.extra_kwargs, **kwargs})
    if not prepared.offer and tools:  # another list of the same batch may have offered it
        request = adapter.withdraw_tool(request)
    options = {
        "adapter": adapter,
        "store": llm.store,
        "max_rounds": llm.max_retrieve_rounds,
        "offer": prepared.offer,
    }
    default_stop = list(llm.stop) if llm.stop else None
    return prepared, request, options, stop if stop is not None else default_stop
