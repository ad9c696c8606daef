"""Settings of the Headroom server, from arguments or ``HEADROOM_*`` variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from headroom.core.config import CompressConfig
from headroom.exceptions import ConfigurationError

__all__ = ["ServerSettings"]

_DEFAULT_MAX_BODY = 32 * 2**20


def _require_litellm(backend: str) -> None:
    import importlib.util

    if importlib.util.find_spec("litellm") is None:
        raise ConfigurationError(
            f"--backend {backend} routes through LiteLLM: pip install 'headroom[litellm]'"
        )


@dataclass(frozen=True)
class ServerSettings:
    """Everything `create_app` needs; every field has a working default.

    Attributes:
        host: Interface uvicorn binds (the CLI's ``--host``).
        port: Port uvicorn binds (the CLI's ``--port``).
        upstream_openai: OpenAI-compatible base URL, ``/v1`` included
            (``/v1/chat/completions`` goes to ``{upstream_openai}/chat/completions``).
        upstream_anthropic: Anthropic base URL without ``/v1``
            (``/v1/messages`` goes to ``{upstream_anthropic}/v1/messages``).
        upstream_openai_key: Provider key sent to the OpenAI-compatible upstream
            when the client sends none (clients then only need a Headroom key).
        upstream_anthropic_key: The same for the Anthropic upstream (``x-api-key``).
        store: CCR backend: ``memory``, ``sqlite:PATH`` or ``redis://HOST:PORT/DB``.
        ccr_ttl_seconds: How long originals stay retrievable.
        api_keys: Bearer keys accepted; empty means no authentication. Each key
            is its own tenant: CCR entries are only visible to the key that stored them.
        max_body_bytes: Largest request body accepted (413 above it).
        upstream_timeout: Seconds to wait for the upstream's response (and between
            streamed chunks); connecting is bounded separately.
        upstream_connect_timeout: Seconds to wait for a connection to the upstream.
        optimize: Compress proxied requests; off makes the proxy a plain passthrough.
        retrieve_rounds: How many times per request the proxy answers the model's
            ``headroom_retrieve`` calls before handing the response to the client.
        config: Default `CompressConfig`; ``/v1/compress`` may override fields per call.
        default_model: Tokenizer to count with when a request names no model.
        admin_keys: Keys that also see the global ``/stats`` and ``/metrics``
            (a tenant key sees only its own counts). They authenticate like `api_keys`.
        allowed_hosts: ``Host`` names accepted when no keys are configured (a
            defence against DNS rebinding); empty means the bound host plus
            ``localhost``/``127.0.0.1``/``[::1]``; ``*`` accepts any.
        log_salt: Secret mixed into the tenant ids written to logs; random per
            process when unset (set it to correlate logs across replicas).
        tenant_max_entries: CCR originals one tenant may hold in the memory store.
        tenant_max_bytes: UTF-8 bytes of originals one tenant may hold in the
            memory store (and the SQLite store's total cap is `store_max_bytes`).
        store_max_bytes: Total bytes of originals the memory or SQLite store holds.
        store_timeout: Seconds any one CCR store call may take before the server
            treats the store as down and compresses losslessly.
        compress_timeout: Seconds of compression one request may use; past it the
            original is forwarded unchanged.
        max_output_bytes: Tool outputs larger than this are not compressed lossily
            (they pass through as sent), so one huge output cannot hold a CPU.
        header_timeout: Seconds a connection may take to send a request's headers.
        body_timeout: Seconds a client may take to send a request's body.
        budget_usd: Spend cap in USD over the app's lifetime, per tenant key (one cap for
            the whole proxy when no keys are configured); None for no cap.
        log_file: Append one JSON line per proxied request here (no message content
            unless `log_content`).
        log_content: Include the messages sent upstream in each log line.
        response_cache: Answer identical requests (after compression) from a cache.
        response_cache_ttl: Seconds a cached answer is served.
        backend: A LiteLLM provider (``bedrock``, ``vertex_ai``, ``azure``, ``openrouter``...)
            to route chat and messages through instead of the upstream URLs; ``openai`` and
            ``anthropic`` (the default) forward directly.
        backend_region: Region for backends that take one (Bedrock, Vertex AI).
    """

    host: str = "127.0.0.1"
    port: int = 8787
    upstream_openai: str = "https://api.openai.com/v1"
    upstream_anthropic: str = "https://api.anthropic.com"
    upstream_openai_key: str | None = field(default=None, repr=False)
    upstream_anthropic_key: str | None = field(default=None, repr=False)
    store: str = "memory"
    ccr_ttl_seconds: float = 6 * 3600.0
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    max_body_bytes: int = _DEFAULT_MAX_BODY
    upstream_timeout: float = 300.0
    upstream_connect_timeout: float = 10.0
    optimize: bool = True
    retrieve_rounds: int = 3
    config: CompressConfig = field(default_factory=CompressConfig)
    default_model: str = "gpt-4o"
    admin_keys: tuple[str, ...] = field(default=(), repr=False)
    allowed_hosts: tuple[str, ...] = ()
    log_salt: str | None = field(default=None, repr=False)
    tenant_max_entries: int = 100_000
    tenant_max_bytes: int = 64 * 2**20
    store_max_bytes: int = 512 * 2**20
    store_timeout: float = 0.5
    compress_timeout: float = 10.0
    max_output_bytes: int = 2 * 2**20
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    budget_usd: float | None = None
    log_file: str | None = None
    log_content: bool = False
    response_cache: bool = False
    response_cache_ttl: float = 300.0
    backend: str | None = None
    backend_region: str | None = None

    def __post_init__(self) -> None:
        if self.budget_usd is not None and self.budget_usd < 0:
            raise ConfigurationError(f"budget must be >= 0 USD, got {self.budget_usd}")
        if self.backend in ("openai", "anthropic", ""):
            object.__setattr__(self, "backend", None)  # the direct upstreams already are these
        if self.backend is not None:
            _require_litellm(self.backend)
        if self.response_cache_ttl <= 0:
            raise ConfigurationError("response_cache_ttl must be positive")
        if self.max_body_bytes <= 0:
            raise ConfigurationError(f"max_body_bytes must be positive, got {self.max_body_bytes}")
        if self.upstream_timeout <= 0 or self.upstream_connect_timeout <= 0:
            raise ConfigurationError("upstream timeouts must be positive")
        if self.retrieve_rounds < 0:
            raise ConfigurationError("retrieve_rounds must be >= 0")
        for name in ("upstream_openai", "upstream_anthropic"):
            url = getattr(self, name)
            if not url.startswith(("http://", "https://")):
                raise ConfigurationError(f"{name} must be an http(s) URL, got {url!r}")
            object.__setattr__(self, name, url.rstrip("/"))
        if any(not key for key in (*self.api_keys, *self.admin_keys)):
            raise ConfigurationError("API keys must not be empty strings")
        for name in (
            "tenant_max_entries",
            "tenant_max_bytes",
            "store_max_bytes",
            "store_timeout",
            "compress_timeout",
            "max_output_bytes",
            "header_timeout",
            "body_timeout",
        ):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"{name} must be positive, got {getattr(self, name)}")

    @property
    def all_keys(self) -> tuple[str, ...]:
        """Every key that authenticates: tenant keys and admin keys."""
        return (*self.api_keys, *self.admin_keys)

    def host_names(self) -> frozenset[str]:
        """Lower-case ``Host`` names accepted without keys (``*`` accepts any)."""
        if self.allowed_hosts:
            return frozenset(h.lower() for h in self.allowed_hosts)
        names = {"localhost", "127.0.0.1", "[::1]", "::1"}
        if self.host not in ("0.0.0.0", "::", ""):
            names.add(self.host.lower())
        return frozenset(names)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> ServerSettings:
        """Settings from ``HEADROOM_*`` variables, then `overrides` on top.

        ``HEADROOM_API_KEY`` may hold several keys separated by commas.
        """
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        text_vars = {
            "HEADROOM_HOST": "host",
            "HEADROOM_UPSTREAM_OPENAI": "upstream_openai",
            "HEADROOM_UPSTREAM_ANTHROPIC": "upstream_anthropic",
            "HEADROOM_STORE": "store",
            "HEADROOM_UPSTREAM_OPENAI_KEY": "upstream_openai_key",
            "HEADROOM_UPSTREAM_ANTHROPIC_KEY": "upstream_anthropic_key",
            "HEADROOM_LOG_SALT": "log_salt",
        }
        number_vars = {
            "HEADROOM_PORT": ("port", int),
            "HEADROOM_CCR_TTL": ("ccr_ttl_seconds", float),
            "HEADROOM_MAX_BODY_BYTES": ("max_body_bytes", int),
            "HEADROOM_UPSTREAM_TIMEOUT": ("upstream_timeout", float),
            "HEADROOM_TENANT_MAX_ENTRIES": ("tenant_max_entries", int),
            "HEADROOM_TENANT_MAX_BYTES": ("tenant_max_bytes", int),
            "HEADROOM_STORE_MAX_BYTES": ("store_max_bytes", int),
            "HEADROOM_STORE_TIMEOUT": ("store_timeout", float),
            "HEADROOM_COMPRESS_TIMEOUT": ("compress_timeout", float),
            "HEADROOM_MAX_OUTPUT_BYTES": ("max_output_bytes", int),
            "HEADROOM_HEADER_TIMEOUT": ("header_timeout", float),
            "HEADROOM_BODY_TIMEOUT": ("body_timeout", float),
        }
        for var, name in text_vars.items():
            if env.get(var):
                values[name] = env[var]
        for var, (name, kind) in number_vars.items():
            if env.get(var):
                try:
                    values[name] = kind(env[var])
                except ValueError as exc:
                    raise ConfigurationError(f"{var} must be a number, got {env[var]!r}") from exc
        if env.get("HEADROOM_API_KEY"):
            values["api_keys"] = tuple(
                k.strip() for k in env["HEADROOM_API_KEY"].split(",") if k.strip()
            )
        for var, name in (
            ("HEADROOM_ADMIN_KEY", "admin_keys"),
            ("HEADROOM_ALLOWED_HOSTS", "allowed_hosts"),
        ):
            if env.get(var):
                values[name] = tuple(k.strip() for k in env[var].split(",") if k.strip())
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
