"""`HeadroomClient`: an OpenAI or Anthropic SDK client that sends less.

Used exactly like the client it wraps. ``chat.completions.create`` (OpenAI) or
``messages.create`` (Anthropic) compress the conversation with
`headroom.compress()` before the SDK sends it (optimize mode), or send it
untouched and only measure (audit mode); ``simulate`` returns the plan without
calling the API. Every other attribute is the wrapped client's own.
"""

from __future__ import annotations

import inspect
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from headroom.client.metrics import MetricsStore, RequestMetrics, default_store_url
from headroom.client.modes import Mode, RequestOptions, check_mode, resolve_options, split_overrides
from headroom.client.pricing import input_price, price_table_source
from headroom.client.providers import Provider, check_provider
from headroom.client.retrieval import RetrieveLoop, relay_async, relay_sync
from headroom.core.compress import compress
from headroom.core.config import CompressConfig
from headroom.core.hooks import CompressionHooks
from headroom.core.result import CompressionResult
from headroom.core.store import CCRStore
from headroom.core.tokens import count_message_tokens, counter_for_model, encoding_name_for_model
from headroom.exceptions import ConfigurationError, HeadroomError, ValidationError

__all__ = ["AsyncHeadroomStream", "HeadroomClient", "HeadroomStream", "SimulationPlan"]

logger = logging.getLogger("headroom")


@dataclass(frozen=True)
class SimulationPlan:
    """What a request would do, computed without calling the API.

    Attributes:
        model: The model of the request.
        mode: The mode the request would run in.
        tokens_before: Input tokens of the messages as given.
        tokens_after: Input tokens after compression.
        tokens_saved: ``tokens_before - tokens_after``.
        transforms: The transforms that would run.
        estimated_savings: `tokens_saved` in USD at the model's input price
            (LiteLLM's bundled cost map), or None.
        estimated_savings_reason: Why `estimated_savings` is None (else empty).
        messages: The messages optimize mode would send.
        ccr_hashes: Hashes under which compressed originals are retrievable.
    """

    model: str
    mode: str
    tokens_before: int
    tokens_after: int
    tokens_saved: int
    transforms: list[str]
    estimated_savings: float | None
    estimated_savings_reason: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list, repr=False)
    ccr_hashes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready values."""
        return dict(self.__dict__)


@dataclass
class _Prepared:
    """One request after Headroom looked at it."""

    model: str
    options: RequestOptions
    body: dict[str, Any]
    result: CompressionResult | None
    offered: bool


@dataclass
class _Session:
    requests_total: int = 0
    requests_optimized: int = 0
    requests_audited: int = 0
    requests_streamed: int = 0
    tokens_input_before_total: int = 0
    tokens_input_after_total: int = 0
    tokens_saved_total: int = 0
    savings_usd_total: float = 0.0
    retrieve_calls_answered: int = 0
    compression_failures: int = 0
    metrics_write_failures: int = 0
    simulations: int = 0


def _plain(messages: Any) -> Any:
    """SDK message objects (e.g. a previous response's message) as dicts; dicts unchanged."""
    if not isinstance(messages, list):
        return messages
    return [
        m.model_dump(mode="json", exclude_none=True) if hasattr(m, "model_dump") else m
        for m in messages
    ]


class _Core:
    """The state every namespace of one `HeadroomClient` shares."""

    def __init__(
        self,
        client: Any,
        provider: Provider,
        mode: Mode,
        config: CompressConfig,
        hooks: CompressionHooks | None,
        limits: dict[str, int],
        metrics: MetricsStore,
        ccr_store: CCRStore | None,
        ccr_retrieve: bool,
    ) -> None:
        self.client = client
        self.provider = provider
        self.mode = mode
        self.config = config
        self.hooks = hooks
        self.limits = limits
        self.metrics = metrics
        self.ccr_store = ccr_store
        self.ccr_retrieve = ccr_retrieve
        self.session = _Session()
        self.lock = threading.Lock()

    # -- compression ---------------------------------------------------------------

    def compress(
        self, messages: Any, model: str, config: CompressConfig
    ) -> CompressionResult | None:
        """`compress()` failing open: None when the messages cannot be compressed."""
        try:
            result = compress(
                _plain(messages),
                model,
                model_limit=self.provider.context_limit(model, self.limits),
                config=config,
                hooks=self.hooks,
                store=self.ccr_store,
                token_counter=self.provider.token_counter,
            )
        except Exception:
            logger.warning(
                "headroom: cannot compress this request; sending it as is", exc_info=True
            )
            with self.lock:
                self.session.compression_failures += 1
            return None
        if any(t.startswith("fail_open:") for t in result.transforms_applied):
            with self.lock:
                self.session.compression_failures += 1
        return result

    def prepare(self, kwargs: Mapping[str, Any]) -> _Prepared:
        overrides, sdk_kwargs = split_overrides(kwargs)
        options = resolve_options(self.mode, self.config, overrides)
        model = str(sdk_kwargs.get("model") or "")
        messages = sdk_kwargs.get("messages")
        result = self.compress(messages, model, options.config)
        body, offered = sdk_kwargs, False
        if (
            options.mode == "optimize"
            and result is not None
            and result.messages != _plain(messages)
        ):
            body = {**sdk_kwargs, "messages": result.messages}
            if self.ccr_retrieve and result.ccr_hashes:
                body = self.provider.adapter.add_tool(body)
                offered = True
        return _Prepared(model, options, body, result, offered)

    def plan(self, kwargs: Mapping[str, Any]) -> SimulationPlan:
        overrides, sdk_kwargs = split_overrides(kwargs)
        options = resolve_options(self.mode, self.config, overrides)
        model = str(sdk_kwargs.get("model") or "")
        messages = sdk_kwargs.get("messages")
        result = self.compress(messages, model, options.config)
        with self.lock:
            self.session.simulations += 1
        if result is None:
            before = self._count(messages, model)
            result = CompressionResult(
                messages=_plain(messages) if isinstance(messages, list) else [],
                tokens_before=before,
                tokens_after=before,
            )
        quote = input_price(model, self.provider.name)
        return SimulationPlan(
            model=model,
            mode=options.mode,
            tokens_before=result.tokens_before,
            tokens_after=result.tokens_after,
            tokens_saved=result.tokens_saved,
            transforms=list(result.transforms_applied),
            estimated_savings=quote.cost(result.tokens_saved),
            estimated_savings_reason=quote.reason,
            messages=list(result.messages),
            ccr_hashes=list(result.ccr_hashes),
        )

    def _count(self, messages: Any, model: str) -> int:
        try:
            count = self.provider.counter(model)
            return sum(count_message_tokens(m, count) for m in _plain(messages))
        except Exception:
            return 0

    # -- metrics -------------------------------------------------------------------

    def record(self, prepared: _Prepared, stream: bool, retrieve_calls: int) -> None:
        """Count the request in the session and the metrics store; never raises."""
        result = prepared.result
        if result is None:
            before = after = self._count(prepared.body.get("messages"), prepared.model)
            transforms: list[str] = ["fail_open"]
        else:
            before, after = result.tokens_before, result.tokens_after
            transforms = list(result.transforms_applied)
        saved = max(0, before - after)
        usd = input_price(prepared.model, self.provider.name).cost(saved)
        mode = prepared.options.mode
        with self.lock:
            s = self.session
            s.requests_total += 1
            s.requests_optimized += mode == "optimize"
            s.requests_audited += mode == "audit"
            s.requests_streamed += stream
            s.tokens_input_before_total += before
            s.tokens_input_after_total += after
            s.tokens_saved_total += saved
            s.savings_usd_total += usd or 0.0
            s.retrieve_calls_answered += retrieve_calls
        metrics = RequestMetrics(
            request_id=uuid.uuid4().hex,
            timestamp=datetime.now(timezone.utc),
            provider=self.provider.name,
            model=prepared.model,
            mode=mode,
            stream=stream,
            tokens_input_before=before,
            tokens_input_after=after,
            tokens_saved=saved,
            savings_usd=usd,
            transforms=transforms,
            retrieve_calls=retrieve_calls,
        )
        try:
            self.metrics.record(metrics)
        except Exception:
            logger.warning(
                "headroom: metrics not persisted (the request went through)", exc_info=True
            )
            with self.lock:
                self.session.metrics_write_failures += 1

    def loop(self, prepared: _Prepared) -> RetrieveLoop:
        return RetrieveLoop(self.provider.adapter, self.ccr_store, prepared.offered)


class HeadroomStream:
    """A streamed response: iterate it like the SDK's stream; closing closes the SDK stream."""

    def __init__(self, items: Iterator[Any], holder: list[Any]) -> None:
        self._items = items
        self._holder = holder

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        return next(self._items)

    def __enter__(self) -> HeadroomStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and release the connection."""
        try:
            self._holder[0].close()
        finally:
            close = getattr(self._items, "close", None)
            if callable(close):
                close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._holder[0], name)  # e.g. .response of the SDK stream


class AsyncHeadroomStream:
    """The async twin of `HeadroomStream`."""

    def __init__(self, items: AsyncIterator[Any], holder: list[Any]) -> None:
        self._items = items
        self._holder = holder

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        return await self._items.__anext__()

    async def __aenter__(self) -> AsyncHeadroomStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop reading and release the connection."""
        try:
            await self._holder[0].close()
        finally:
            aclose = getattr(self._items, "aclose", None)
            if callable(aclose):
                await aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._holder[0], name)


class _Passthrough:
    """A namespace of the wrapped client (``client.chat``) with one wrapped child."""

    def __init__(self, original: Any, children: dict[str, Any]) -> None:
        self._original = original
        self.__dict__.update(children)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class _Endpoint:
    """``chat.completions`` / ``messages`` of a sync client: `create` and `simulate`."""

    def __init__(self, core: _Core, original: Any) -> None:
        self._core = core
        self._original = original

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)

    def simulate(self, **kwargs: Any) -> SimulationPlan:
        """The plan of a `create` call with these arguments; makes no API call."""
        return self._core.plan(kwargs)

    def stream(self, **kwargs: Any) -> Any:
        """The SDK's ``.stream()`` helper (Anthropic) over a Headroom stream.

        For an SDK whose helper Headroom does not wrap (OpenAI's
        ``chat.completions.stream``), this is the SDK's own method: uncompressed.
        """
        manager = self._core.provider.stream_manager(
            lambda: self.create(stream=True, **kwargs), is_async=False
        )
        return manager if manager is not None else self._original.stream(**kwargs)

    def create(self, **kwargs: Any) -> Any:
        """The SDK's `create`, with the messages compressed (optimize) or measured (audit)."""
        core = self._core
        prepared = core.prepare(kwargs)
        create = self._original.create
        stream = bool(prepared.body.get("stream"))
        if not prepared.offered:
            response = create(**prepared.body)
            core.record(prepared, stream, 0)
            return response
        loop = core.loop(prepared)
        if not stream:
            response = loop.run_sync(create, prepared.body)
            core.record(prepared, False, loop.answered)
            return core.provider.hide_retrieve_calls(response)
        holder = [create(**prepared.body)]

        def items() -> Iterator[Any]:
            try:
                yield from relay_sync(
                    loop, core.provider.relay(), create, prepared.body, holder[0], holder
                )
            finally:
                core.record(prepared, True, loop.answered)

        return HeadroomStream(items(), holder)


class _AsyncEndpoint(_Endpoint):
    """``chat.completions`` / ``messages`` of an async client."""

    def stream(self, **kwargs: Any) -> Any:
        """The SDK's async ``.stream()`` helper (Anthropic) over a Headroom stream."""
        if self._core.provider.stream_helper is None:
            return self._original.stream(**kwargs)
        return self._core.provider.stream_manager(self.create(stream=True, **kwargs), is_async=True)

    async def create(self, **kwargs: Any) -> Any:  # type: ignore[override]
        """The SDK's `create`, with the messages compressed (optimize) or measured (audit)."""
        core = self._core
        prepared = core.prepare(kwargs)
        create = self._original.create
        stream = bool(prepared.body.get("stream"))
        if not prepared.offered:
            response = await create(**prepared.body)
            core.record(prepared, stream, 0)
            return response
        loop = core.loop(prepared)
        if not stream:
            response = await loop.run_async(create, prepared.body)
            core.record(prepared, False, loop.answered)
            return core.provider.hide_retrieve_calls(response)
        holder = [await create(**prepared.body)]

        async def items() -> AsyncIterator[Any]:
            try:
                async for item in relay_async(
                    loop, core.provider.relay(), create, prepared.body, holder[0], holder
                ):
                    yield item
            finally:
                core.record(prepared, True, loop.answered)

        return AsyncHeadroomStream(items(), holder)


class HeadroomClient:
    """Wrap an OpenAI or Anthropic SDK client so its requests send fewer tokens.

    Args:
        original_client: ``OpenAI()``, ``AsyncOpenAI()``, ``Anthropic()`` or
            ``AsyncAnthropic()`` (or a compatible client, e.g. Azure's).
        provider: ``OpenAIProvider()`` or ``AnthropicProvider()``, matching the client.
        default_mode: ``"optimize"`` sends compressed requests; ``"audit"``
            sends them unchanged and records what optimize would have saved.
        enable_cache_optimizer: Keep the system prompt's bytes stable across
            requests (volatile dates and ids move after the question) so the
            provider's prompt cache keeps hitting. None keeps `config`'s setting.
        enable_semantic_cache: Not supported (Headroom caches nothing but
            compressed slots); True raises `ConfigurationError`.
        model_context_limits: Context windows by model name, overriding
            Headroom's table; a request over its window has its oldest tool
            outputs replaced by retrievable stubs.
        store_url: Metrics store, ``sqlite:////absolute/path.db``; defaults to
            a private file under the user data directory (see `default_data_dir`).
        config: Full `CompressConfig` for what the knobs above do not cover.
        hooks: `CompressionHooks` to steer or observe compression.
        ccr_store: Where compressed originals are kept for ``headroom_retrieve``
            (the process default if None). Separate from the metrics store.
        ccr_retrieve: Offer ``headroom_retrieve`` when a request was compressed
            lossily and answer the model's calls to it; False never offers it.

    Raises:
        ProviderError: `provider` is not a provider instance.
        ConfigurationError: a bad mode, limit, store URL, or a client without
            the provider's chat resource.
    """

    def __init__(
        self,
        original_client: Any,
        provider: Provider,
        default_mode: Mode = "optimize",
        *,
        enable_cache_optimizer: bool | None = True,
        enable_semantic_cache: bool = False,
        model_context_limits: Mapping[str, int] | None = None,
        store_url: str | None = None,
        config: CompressConfig | None = None,
        hooks: CompressionHooks | None = None,
        ccr_store: CCRStore | None = None,
        ccr_retrieve: bool = True,
    ) -> None:
        provider = check_provider(provider)
        mode = check_mode(default_mode)
        if enable_semantic_cache:
            raise ConfigurationError(
                "enable_semantic_cache is not supported: Headroom compresses requests but "
                "never answers one from a cache",
                {"enable_semantic_cache": enable_semantic_cache},
            )
        cfg = config if config is not None else CompressConfig()
        if enable_cache_optimizer is not None:
            cfg = cfg.replace(cache_align=bool(enable_cache_optimizer))
        limits = dict(model_context_limits or {})
        for name, limit in limits.items():
            if (
                not isinstance(name, str)
                or not isinstance(limit, int)
                or isinstance(limit, bool)
                or limit <= 0
            ):
                raise ConfigurationError(
                    f"model_context_limits must map model names to positive ints, got {name!r}: {limit!r}",
                    {"model": name, "limit": limit},
                )
        endpoint = provider.endpoint(original_client)
        metrics = MetricsStore(store_url if store_url is not None else default_store_url())
        self._original = original_client
        self._core = _Core(
            original_client, provider, mode, cfg, hooks, limits, metrics, ccr_store, ccr_retrieve
        )
        self._is_async = self._detect_async(provider, original_client, endpoint)
        wrapped: Any = (_AsyncEndpoint if self._is_async else _Endpoint)(self._core, endpoint)
        path = provider.resource
        parents = [original_client]
        for attr in path[:-1]:
            parents.append(getattr(parents[-1], attr))
        for depth in range(len(path) - 1, 0, -1):
            wrapped = _Passthrough(parents[depth], {path[depth]: wrapped})
        self._root_name = path[0]
        self._root = wrapped

    @staticmethod
    def _detect_async(provider: Provider, client: Any, endpoint: Any) -> bool:
        try:
            return provider.is_async(client)
        except ImportError:  # a compatible client from elsewhere: judge by its method
            return inspect.iscoroutinefunction(endpoint.create)

    def __getattr__(self, name: str) -> Any:
        if name == "_root_name":  # not yet set during __init__
            raise AttributeError(name)
        if name == self._root_name:
            return self._root
        return getattr(self._original, name)

    def __repr__(self) -> str:
        return (
            f"HeadroomClient({type(self._original).__name__}, {self._core.provider!r}, "
            f"default_mode={self._core.mode!r})"
        )

    @property
    def original_client(self) -> Any:
        """The wrapped SDK client."""
        return self._original

    def get_stats(self) -> dict[str, Any]:
        """This client's session totals, configuration, and which transforms are on (no I/O)."""
        core = self._core
        cfg = core.config
        with core.lock:
            session = dict(core.session.__dict__)
        return {
            "session": session,
            "config": {
                "mode": core.mode,
                "provider": core.provider.name,
                "async": self._is_async,
                "enable_cache_optimizer": cfg.cache_align,
                "ccr_retrieve": core.ccr_retrieve,
                "model_context_limits": dict(core.limits),
                "store_url": core.metrics.url,
                "compress_config": cfg.to_dict(),
            },
            "transforms": {
                "smart_crusher_enabled": cfg.lossy,
                "cache_aligner_enabled": cfg.cache_align,
                "rolling_window_enabled": True,
                "ccr_enabled": cfg.ccr,
                "recall_enabled": cfg.recall,
                "compress_user_context": cfg.compress_user_context,
                "protect_tools": list(cfg.protect_tools),
            },
        }

    def validate_setup(self, raise_on_error: bool = False) -> dict[str, Any]:
        """Check the provider, the metrics store and the offline tokenizer.

        Returns:
            ``{"valid": bool, "provider": {...}, "storage": {...}, "tokenizer": {...},
            "pricing": {...}, "issues": [...]}``; pricing never makes it invalid.

        Raises:
            ValidationError: with `raise_on_error`, when not valid (details: the report).
        """
        core = self._core
        issues: list[str] = []
        provider = {"ok": True, "name": core.provider.name, "async": self._is_async}
        storage: dict[str, Any] = {"ok": True, "url": core.metrics.url}
        try:
            core.metrics.check()
        except HeadroomError as exc:
            storage.update(ok=False, error=str(exc))
            issues.append(f"metrics store: {exc}")
        if storage["ok"] and core.metrics.path is not None:
            mode = core.metrics.path.stat().st_mode & 0o777
            storage["private"] = not mode & 0o077
            storage["file_mode"] = oct(mode)
        tokenizer: dict[str, Any] = {"ok": True, "offline": True}
        try:
            encoding, exact = encoding_name_for_model("gpt-4o")
            tokenizer.update(encoding=encoding, exact_for_openai=exact)
            counter_for_model("gpt-4o")("headroom")
        except Exception as exc:
            tokenizer.update(ok=False, error=f"{type(exc).__name__}: {exc}")
            issues.append(f"tokenizer: {exc}")
        available, source = price_table_source()
        report = {
            "valid": not issues,
            "provider": provider,
            "storage": storage,
            "tokenizer": tokenizer,
            "pricing": {"available": available, "source": source},
            "config": {"mode": core.mode},
            "issues": issues,
        }
        if issues and raise_on_error:
            raise ValidationError("Headroom setup is not valid: " + "; ".join(issues), report)
        return report

    def get_metrics(
        self,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        limit: int | None = None,
    ) -> list[RequestMetrics]:
        """Stored per-request metrics with ``start_time <= timestamp < end_time``, newest first.

        Naive datetimes are read as UTC. Includes requests of other clients and
        processes that share the store.

        Raises:
            StorageError: the store cannot be read.
        """
        return self._core.metrics.query(start_time, end_time, limit)

    def get_summary(
        self, start_time: datetime | None = None, end_time: datetime | None = None
    ) -> dict[str, Any]:
        """Totals over the stored metrics: requests, tokens before/after/saved, USD saved.

        Raises:
            StorageError: the store cannot be read.
        """
        return self._core.metrics.summary(start_time, end_time)

    def close(self) -> None:
        """Close the metrics store (the wrapped client stays open: it is the caller's)."""
        self._core.metrics.close()
