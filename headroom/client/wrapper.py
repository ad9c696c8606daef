"""`HeadroomClient`: an OpenAI or Anthropic SDK client that sends less.

Used exactly like the client it wraps. ``chat.completions.create`` (OpenAI) or
``messages.create`` (Anthropic) compress the conversation with
`headroom.compress()` before the SDK sends it (optimize mode), or send it
untouched and only measure (audit mode); ``simulate`` returns the plan without
calling the API. Every other attribute is the wrapped client's own.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import datetime
from typing import Any

from headroom.client.metrics import MetricsStore, RequestMetrics, default_store_url
from headroom.client.modes import Mode, check_mode
from headroom.client.pipeline import Pipeline, SimulationPlan
from headroom.client.providers import Provider, check_provider
from headroom.client.retrieval import relay_async, relay_sync
from headroom.client.streaming import AsyncHeadroomStream, HeadroomStream
from headroom.core.config import CompressConfig
from headroom.core.hooks import CompressionHooks
from headroom.core.store import CCRStore
from headroom.core.tokens import counter_for_model, encoding_name_for_model
from headroom.exceptions import ConfigurationError, HeadroomError, ValidationError
from headroom.pricing import price_table_source

__all__ = ["HeadroomClient"]


class _Passthrough:
    """A namespace of the wrapped client (``client.chat``) with one wrapped child."""

    def __init__(self, original: Any, children: dict[str, Any]) -> None:
        self._original = original
        self.__dict__.update(children)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class _Endpoint:
    """``chat.completions`` / ``messages`` of a sync client: `create` and `simulate`."""

    def __init__(self, core: Pipeline, original: Any) -> None:
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

    def parse(self, **kwargs: Any) -> Any:
        """The SDK's structured-output ``parse``, compressed; ``headroom_retrieve``
        is not offered (parse accepts only strict tools)."""
        prepared = self._core.prepare(kwargs, offer_retrieve=False)
        response = self._original.parse(**prepared.body)
        self._core.record(prepared, False, 0)
        return response

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
            return response
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

    async def parse(self, **kwargs: Any) -> Any:  # type: ignore[override]
        """The SDK's async structured-output ``parse``, compressed (no retrieve tool)."""
        prepared = self._core.prepare(kwargs, offer_retrieve=False)
        response = await self._original.parse(**prepared.body)
        self._core.record(prepared, False, 0)
        return response

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
            return response
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
        metrics = MetricsStore(store_url if store_url is not None else default_store_url())
        core = Pipeline(provider, mode, cfg, hooks, limits, metrics, ccr_store, ccr_retrieve)
        self._bind(original_client, core)

    def _bind(self, original_client: Any, core: Pipeline) -> None:
        provider = core.provider
        endpoint = provider.endpoint(original_client)
        self._original = original_client
        self._core = core
        self._is_async = self._detect_async(provider, original_client, endpoint)
        wrapped: Any = (_AsyncEndpoint if self._is_async else _Endpoint)(core, endpoint)
        path = provider.resource
        parents = [original_client]
        for attr in path[:-1]:
            parents.append(getattr(parents[-1], attr))
        for depth in range(len(path) - 1, 0, -1):
            wrapped = _Passthrough(parents[depth], {path[depth]: wrapped})
        self._root_name = path[0]
        self._root = wrapped

    def with_options(self, **options: Any) -> HeadroomClient:
        """The wrapped client's ``with_options(...)``, still wrapped.

        The copy shares this client's settings, session totals and metrics store.
        """
        clone = object.__new__(type(self))
        clone._bind(self._original.with_options(**options), self._core)
        return clone

    copy = with_options

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
            "pricing": {...}, "issues": [...], "warnings": [...]}``; pricing and
            warnings (such as a metrics file others can read) never make it invalid.

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
        warnings: list[str] = []
        if storage["ok"] and core.metrics.path is not None:
            mode = core.metrics.path.stat().st_mode & 0o777
            storage["private"] = not mode & 0o077
            storage["file_mode"] = oct(mode)
            if mode & 0o077:
                warnings.append(
                    f"metrics file {core.metrics.path} is readable by other users ({oct(mode)})"
                )
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
            "warnings": warnings,
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
