"""``headroom proxy``: run the service and proxy under uvicorn.

The ``headroom`` console script dispatches ``headroom proxy ...`` here; it also
runs as ``python -m headroom.server.cli ...``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from headroom.exceptions import ConfigurationError
from headroom.server.settings import ServerSettings

__all__ = ["build_parser", "run_proxy", "settings_from_args"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="headroom proxy",
        description="Serve /v1/compress and /v1/retrieve, and proxy LLM calls with compression.",
    )
    parser.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port to bind (default 8787)")
    parser.add_argument(
        "--upstream-openai",
        metavar="URL",
        help="OpenAI-compatible base URL incl. /v1 (default https://api.openai.com/v1)",
    )
    parser.add_argument(
        "--upstream-anthropic",
        metavar="URL",
        help="Anthropic base URL (default https://api.anthropic.com)",
    )
    parser.add_argument(
        "--store",
        metavar="SPEC",
        help="CCR store: memory (default), sqlite:PATH or redis://HOST:PORT/DB",
    )
    parser.add_argument(
        "--ccr-ttl", type=float, metavar="SECONDS", help="how long originals stay retrievable"
    )
    parser.add_argument(
        "--api-key",
        action="append",
        metavar="KEY",
        help="accept this bearer key (repeat for several tenants; default: $HEADROOM_API_KEY, else no auth)",
    )
    parser.add_argument(
        "--admin-key",
        action="append",
        metavar="KEY",
        help="key that also sees every tenant's /stats and /metrics (repeatable; $HEADROOM_ADMIN_KEY)",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        help="Host header accepted when no keys are set (repeatable; '*' for any; "
        "default: the bound host and localhost)",
    )
    parser.add_argument(
        "--tenant-max-entries",
        type=int,
        metavar="N",
        help="CCR originals one tenant may hold in the memory store (default 100000)",
    )
    parser.add_argument(
        "--tenant-max-bytes",
        type=int,
        metavar="N",
        help="UTF-8 bytes of originals one tenant may hold in the memory store (default 64 MiB)",
    )
    parser.add_argument(
        "--store-max-bytes",
        type=int,
        metavar="N",
        help="bytes of originals the memory or SQLite store holds in all (default 512 MiB)",
    )
    parser.add_argument(
        "--store-timeout",
        type=float,
        metavar="SECONDS",
        help="bound on each CCR store call; slower means down, compress losslessly (default 0.5)",
    )
    parser.add_argument(
        "--compress-timeout",
        type=float,
        metavar="SECONDS",
        help="compression time one request may use; past it the original goes on (default 10)",
    )
    parser.add_argument(
        "--max-output-bytes",
        type=int,
        metavar="N",
        help="tool outputs larger than this pass through uncompressed (default 2 MiB)",
    )
    parser.add_argument(
        "--header-timeout",
        type=float,
        metavar="SECONDS",
        help="time a client may take to send request headers (default 10)",
    )
    parser.add_argument(
        "--body-timeout",
        type=float,
        metavar="SECONDS",
        help="time a client may take to send a request body (default 60)",
    )
    parser.add_argument(
        "--max-body-bytes", type=int, metavar="N", help="largest request body accepted"
    )
    parser.add_argument(
        "--upstream-timeout", type=float, metavar="SECONDS", help="bound on each upstream response"
    )
    parser.add_argument(
        "--no-optimize", action="store_true", help="forward requests without compressing them"
    )
    parser.add_argument(
        "--backend",
        metavar="NAME",
        help="route through LiteLLM to this provider (bedrock, vertex_ai, azure, openrouter, "
        "gemini, groq, ...); credentials from its usual environment variables. "
        "Default: forward directly to --upstream-openai / --upstream-anthropic",
    )
    parser.add_argument(
        "--region", metavar="REGION", help="region for --backend bedrock or vertex_ai"
    )
    parser.add_argument(
        "--budget",
        type=float,
        metavar="USD",
        help="spend cap over the proxy's lifetime, per API key when keys are set; "
        "requests past it get a 429 (priced offline from LiteLLM's cost map)",
    )
    parser.add_argument(
        "--log-file", metavar="PATH", help="append one JSON line per proxied request"
    )
    parser.add_argument(
        "--log-content",
        action="store_true",
        help="include the messages sent upstream in --log-file lines",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="do not answer identical requests from the response cache",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    return parser


def settings_from_args(args: argparse.Namespace) -> ServerSettings:
    """Settings from ``HEADROOM_*`` variables, overridden by the flags given."""
    flags = {
        "host": args.host,
        "port": args.port,
        "upstream_openai": args.upstream_openai,
        "upstream_anthropic": args.upstream_anthropic,
        "store": args.store,
        "ccr_ttl_seconds": args.ccr_ttl,
        "api_keys": tuple(args.api_key) if args.api_key else None,
        "max_body_bytes": args.max_body_bytes,
        "upstream_timeout": args.upstream_timeout,
        "optimize": False if args.no_optimize else None,
        "admin_keys": tuple(args.admin_key) if args.admin_key else None,
        "allowed_hosts": tuple(args.allowed_host) if args.allowed_host else None,
        "tenant_max_entries": args.tenant_max_entries,
        "tenant_max_bytes": args.tenant_max_bytes,
        "store_max_bytes": args.store_max_bytes,
        "store_timeout": args.store_timeout,
        "compress_timeout": args.compress_timeout,
        "max_output_bytes": args.max_output_bytes,
        "header_timeout": args.header_timeout,
        "body_timeout": args.body_timeout,
        "budget_usd": args.budget,
        "backend": args.backend,
        "backend_region": args.region,
        "log_file": args.log_file,
        "log_content": True if args.log_content else None,
        "response_cache": not args.no_cache,
    }
    return ServerSettings.from_env(**{k: v for k, v in flags.items() if v is not None})


def run_proxy(argv: list[str]) -> int:
    """Parse `argv` (everything after ``headroom proxy``) and serve until stopped.

    Returns the process exit code: 0 after a clean shutdown, 2 on bad settings.
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(message)s")
    try:
        import uvicorn

        from headroom.server.app import create_app
        from headroom.server.protocol import protocol_with_header_timeout

        settings = settings_from_args(args)
        app = create_app(settings)
    except (ConfigurationError, ImportError) as exc:
        print(f"headroom proxy: {exc}", file=sys.stderr)
        return 2
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        lifespan="on",
        timeout_graceful_shutdown=10,
        http=protocol_with_header_timeout(settings.header_timeout),
        timeout_keep_alive=5,
    )
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1


def main(argv: Sequence[str] | None = None) -> int:
    return run_proxy(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
