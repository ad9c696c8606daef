"""The `headroom` command: compress a file, retrieve an original, run the demo, start the proxy.

Every failure a user can cause (a missing file, input that is not messages,
an unwritable output) ends in one line on stderr and a non-zero exit, never a
traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]

#: The exit code for bad input or bad usage (argparse uses the same).
_USAGE = 2
#: Modules `headroom proxy` needs; checked before importing so the error names the extra.
_SERVER_MODULES = ("starlette", "uvicorn", "httpx")


class _CliError(Exception):
    """A user-facing failure: printed as one line, exit code 2."""


def _read_input(path: str) -> str:
    try:
        if path == "-":
            stream = getattr(sys.stdin, "buffer", None)
            data = stream.read() if stream is not None else sys.stdin.read().encode("utf-8")
        elif os.path.isdir(path):
            raise _CliError(f"{path} is a directory, not a messages JSON file")
        else:
            with open(path, "rb") as fh:
                data = fh.read()
    except FileNotFoundError:
        raise _CliError(f"no such file: {path}") from None
    except PermissionError:
        raise _CliError(f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise _CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _CliError(
            f"{path if path != '-' else 'stdin'} is not UTF-8 text (binary input?)"
        ) from None


def _parse_messages(raw: str) -> tuple[Any, list[Any]]:
    try:
        payload = json.loads(raw)
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise _CliError(f"input is not JSON: {exc}") from None
    messages = payload.get("messages") if isinstance(payload, dict) else payload
    if not isinstance(messages, list):
        raise _CliError('expected a list of messages or {"messages": [...]}')
    return payload, messages


def _open_store(spec: str | None) -> Any:
    if not spec:
        return None
    from headroom.exceptions import ConfigurationError
    from headroom.stores import open_store

    try:
        return open_store(spec)
    except (ConfigurationError, ImportError, OSError) as exc:
        raise _CliError(f"cannot open store {spec!r}: {exc}") from None


def _write_output(path: str | None, text: str) -> None:
    if path is None:
        sys.stdout.write(text + "\n")
        return
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    except OSError as exc:
        raise _CliError(f"cannot write {path}: {exc.strerror or exc}") from None


def _compress_command(args: argparse.Namespace) -> int:
    from headroom.core import CompressConfig, compress
    from headroom.exceptions import ValidationError

    payload, messages = _parse_messages(_read_input(args.file))
    model = args.model or (payload.get("model") if isinstance(payload, dict) else None) or "gpt-4o"
    store = _open_store(args.store)
    try:
        result = compress(
            messages, model=str(model), config=CompressConfig(lossy=not args.lossless), store=store
        )
    except ValidationError as exc:
        raise _CliError(f"not a list of chat messages: {exc}") from None
    out: Any = (
        {**payload, "messages": result.messages} if isinstance(payload, dict) else result.messages
    )
    _write_output(
        args.output, json.dumps(out, ensure_ascii=False, indent=2 if args.pretty else None)
    )
    hashes = ", ".join(result.ccr_hashes) or "none"
    print(
        f"headroom: {result.tokens_before} -> {result.tokens_after} tokens "
        f"({result.compression_ratio:.1%} saved); "
        f"transforms: {', '.join(result.transforms_applied) or 'none'}; ccr hashes: {hashes}",
        file=sys.stderr,
    )
    if result.ccr_hashes and not args.store:
        print(
            "headroom: originals are kept in memory only and vanish when this command exits; "
            "pass --store sqlite:PATH to retrieve them later with `headroom retrieve`",
            file=sys.stderr,
        )
    return 0


def _retrieve_command(args: argparse.Namespace) -> int:
    from headroom.core import retrieve
    from headroom.exceptions import RetrievalError

    store = _open_store(args.store)
    try:
        text = retrieve(args.hash, args.query, store=store)
    except RetrievalError as exc:
        raise _CliError(str(exc)) from None
    _write_output(args.output, text)
    return 0


def _demo_command(args: argparse.Namespace) -> int:
    from headroom.demo import run_demo

    return run_demo(args.model)


def _proxy_command(argv: Sequence[str]) -> int:
    missing = [m for m in _SERVER_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise _CliError(
            f"headroom proxy needs the server extra ({', '.join(missing)} not installed): "
            "pip install 'headroom[server]'"
        )
    from headroom.server.cli import run_proxy

    return run_proxy(list(argv))


def _parser() -> argparse.ArgumentParser:
    from headroom import __version__

    parser = argparse.ArgumentParser(
        prog="headroom",
        description="Compress what LLM agents send; keep what the model needs.",
    )
    parser.add_argument("--version", action="version", version=f"headroom {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    store_help = (
        "where lossy steps keep originals: memory (default, gone on exit), "
        "sqlite:PATH or redis://HOST:PORT/DB"
    )

    c = sub.add_parser(
        "compress",
        help="compress a messages JSON file (or - for stdin)",
        description="Read chat messages as JSON, write them compressed; a summary goes to stderr.",
    )
    c.add_argument(
        "file", metavar="FILE", help='messages JSON: a list, or {"messages": [...]}; - for stdin'
    )
    c.add_argument("--model", help="model to count tokens for (default: the input's, else gpt-4o)")
    c.add_argument("--output", "-o", metavar="PATH", help="write here instead of stdout")
    c.add_argument("--pretty", action="store_true", help="indent the JSON output")
    c.add_argument("--lossless", action="store_true", help="only lossless transforms")
    c.add_argument("--store", metavar="SPEC", help=store_help)

    r = sub.add_parser(
        "retrieve",
        help="print the original a marker's hash stands for",
        description="Print an original kept by a lossy step (needs the same --store).",
    )
    r.add_argument(
        "hash", metavar="HASH", help='the hash named in a marker: headroom_retrieve(hash="...")'
    )
    r.add_argument(
        "--query", "-q", help="only the parts that match (words, field=value, top N by col)"
    )
    r.add_argument("--store", metavar="SPEC", required=True, help=store_help)
    r.add_argument("--output", "-o", metavar="PATH", help="write here instead of stdout")

    d = sub.add_parser(
        "demo",
        help="compress bundled real agent conversations, offline",
        description="Show, on real conversations, what Headroom keeps, cuts and gives back.",
    )
    d.add_argument("--model", default="gpt-4o", help="model to compress for (default gpt-4o)")

    sub.add_parser(
        "proxy",
        help="start the Headroom server (options: headroom proxy --help)",
        add_help=False,
    )
    return parser


def _run(args_list: list[str]) -> int:
    if args_list[:1] == ["proxy"]:
        return _proxy_command(args_list[1:])
    args = _parser().parse_args(args_list)
    commands = {"compress": _compress_command, "retrieve": _retrieve_command, "demo": _demo_command}
    return commands[args.command](args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `headroom` console script."""
    try:
        return _run(list(sys.argv[1:] if argv is None else argv))
    except _CliError as exc:
        print(f"headroom: {exc}", file=sys.stderr)
        return _USAGE
    except BrokenPipeError:
        # The reader went away (`headroom demo | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
