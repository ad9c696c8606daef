"""The `headroom` command: compress a file, run the offline demo, start the proxy."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib import resources
from typing import Any

from headroom.core import CompressConfig, compress, retrieve
from headroom.core.detect import detect_kind
from headroom.core.messages import find_slots
from headroom.core.tokens import counter_for_model

__all__ = ["main"]


def _compress_command(args: argparse.Namespace) -> int:
    if args.file == "-":
        raw = sys.stdin.read()
    else:
        with open(args.file, encoding="utf-8") as fh:
            raw = fh.read()
    try:
        payload = json.loads(raw)
    except json.JSONDecodeError as exc:
        print(f"headroom: input is not JSON: {exc}", file=sys.stderr)
        return 2
    messages = payload.get("messages") if isinstance(payload, dict) else payload
    if not isinstance(messages, list):
        print('headroom: expected a list of messages or {"messages": [...]}', file=sys.stderr)
        return 2
    model = args.model or (payload.get("model") if isinstance(payload, dict) else None) or "gpt-4o"
    config = CompressConfig(lossy=not args.lossless)
    result = compress(messages, model=model, config=config)
    out: Any = (
        {**payload, "messages": result.messages} if isinstance(payload, dict) else result.messages
    )
    text = json.dumps(out, ensure_ascii=False, indent=2 if args.pretty else None)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    else:
        print(text)
    print(
        f"headroom: {result.tokens_before} -> {result.tokens_after} tokens "
        f"({result.compression_ratio:.1%} saved); transforms: {', '.join(result.transforms_applied) or 'none'}; "
        f"ccr hashes: {', '.join(result.ccr_hashes) or 'none'}",
        file=sys.stderr,
    )
    return 0


def _demo_cases() -> list[dict[str, Any]]:
    folder = resources.files("headroom").joinpath("demo_data")
    cases = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".json"):
            cases.append(json.loads(entry.read_text(encoding="utf-8")))
    return cases


def _needle_kept(needle: str, messages: list[dict[str, Any]]) -> bool:
    blob = " ".join(json.dumps(messages, ensure_ascii=False).split())
    text = " ".join(needle.split())
    return text in blob or json.dumps(text, ensure_ascii=False)[1:-1] in blob


def _demo_command(args: argparse.Namespace) -> int:
    count = counter_for_model(args.model)
    for case in _demo_cases():
        messages = case["messages"]
        result = compress(messages, model=args.model)
        print(f"\n=== {case['id']} ({case['category']}): {case['question']}")
        print(
            f"{'#':>3} {'role':<10} {'tool':<18} {'kind':<6} {'before':>7} {'after':>7}  transform"
        )
        before_slots = {(s.index, s.path): s for s in find_slots(messages)}
        after_slots = {(s.index, s.path): s for s in find_slots(result.messages)}
        for key, slot in before_slots.items():
            after = after_slots.get(key)
            new_text = after.text if after else slot.text
            changed = new_text != slot.text
            print(
                f"{slot.index:>3} {messages[slot.index]['role']:<10} {(slot.tool_name or '-')[:18]:<18} "
                f"{detect_kind(slot.text) if slot.kind == 'tool_output' else 'prose':<6} "
                f"{count(slot.text):>7} {count(new_text):>7}  {'compressed' if changed else 'kept as is'}"
            )
        kept = sum(_needle_kept(n, result.messages) for n in case["needles"])
        print(
            f"total {result.tokens_before} -> {result.tokens_after} tokens "
            f"({result.compression_ratio:.1%} saved); needles kept {kept}/{len(case['needles'])}"
        )
        for slot in after_slots.values():
            for line in slot.text.splitlines():
                if line.startswith("[headroom:"):
                    print("  marker:", line if len(line) <= 200 else line[:197] + "...")
                elif line.startswith("[headroom recall"):
                    print(f"  recall appended after the question in message {slot.index}")
        if result.ccr_hashes:
            h = result.ccr_hashes[0]
            original = retrieve(h)
            part = retrieve(h, query=case["question"])
            print(
                f"  retrieve({h!r}) -> {len(original)} chars, identical to the original: "
                f"{any(s.text == original for s in before_slots.values())}; "
                f"with the question as query -> {len(part)} chars"
            )
    return 0


def _proxy_command(argv: Sequence[str]) -> int:
    try:
        from headroom.server.cli import run_proxy
    except ImportError as exc:
        print(
            f"headroom proxy needs the server extra: pip install 'headroom[server]' ({exc})",
            file=sys.stderr,
        )
        return 2
    return run_proxy(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `headroom` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["proxy"]:
        return _proxy_command(args_list[1:])
    parser = argparse.ArgumentParser(prog="headroom", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compress", help="compress a messages JSON file (or - for stdin)")
    c.add_argument("file")
    c.add_argument("--model", default=None)
    c.add_argument("--output", "-o", default=None)
    c.add_argument("--pretty", action="store_true")
    c.add_argument("--lossless", action="store_true", help="only lossless transforms")
    d = sub.add_parser("demo", help="compress bundled real conversations, offline")
    d.add_argument("--model", default="gpt-4o")
    sub.add_parser("proxy", help="start the Headroom server (see `headroom proxy --help`)")
    args = parser.parse_args(args_list)
    if args.command == "compress":
        return _compress_command(args)
    return _demo_command(args)


if __name__ == "__main__":
    raise SystemExit(main())
