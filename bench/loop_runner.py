"""Long conversations, generated and timed inside whatever interpreter runs this file.

Standard library only, so it runs unchanged in headroom-ai's virtualenv and in
ours (see ``bench/engines.py``): both engines compress the very same generated
conversations, each in a fresh process. Only figures travel back (times,
token counts, per-message digests), never the megabytes of messages.

    python loop_runner.py JOB.json OUT.json

JOB holds ``phase``:

* ``scaling``: ``sizes`` (exchange counts) and ``question`` (a user question
  first, or none). For each size: the first-seen time of the whole
  conversation, then the time to compress it re-sent (parsed again from JSON,
  as a proxy receives it). Then ``tiny``: one request of that many tiny tool
  messages, first seen.
* ``agent_loop``: ``turns`` tool rounds, each adding a 20-50 KB output, after
  one task (``shape`` "autonomous") or a user message each (``shape`` "chat");
  every request compressed in order with ``model``; per request the digests of
  the compressed messages (the caller counts prefix breaks) and their tokens.
"""

from __future__ import annotations

import gc
import hashlib
import json
import random
import sys
import time
from typing import Any

__all__ = ["agent_session", "exchanges", "main", "tiny_messages"]

_HOSTS = ["api", "db", "cache", "worker", "gateway", "search", "auth", "billing"]
_WORDS = ["alpha", "bravo", "delta", "ember", "falcon", "harbor", "island", "juniper", "kepler"]


def _records(rnd: random.Random, rows: int, base: int) -> str:
    return json.dumps(
        [
            {
                "id": base + i,
                "host": f"{rnd.choice(_HOSTS)}-{rnd.randrange(64):02d}",
                "cpu_pct": rnd.randrange(100),
                "latency_ms": round(rnd.random() * 900, 1),
                "status": rnd.choice(["ok", "ok", "ok", "degraded", "down"]),
                "owner": rnd.choice(_WORDS),
            }
            for i in range(rows)
        ],
        indent=2,
    )


def _log(rnd: random.Random, lines: int, base: int) -> str:
    out = []
    for i in range(lines):
        level = rnd.choice(["INFO"] * 12 + ["WARN", "ERROR"])
        out.append(
            f"2026-03-{1 + i % 28:02d}T{i % 24:02d}:{rnd.randrange(60):02d}:{rnd.randrange(60):02d}Z "
            f"{level} {rnd.choice(_HOSTS)}[{rnd.randrange(9000)}] request {base + i} "
            f"took {rnd.randrange(2000)} ms user={rnd.choice(_WORDS)}"
        )
    return "\n".join(out)


def _grep(rnd: random.Random, lines: int, base: int) -> str:
    return "\n".join(
        f"src/{rnd.choice(_HOSTS)}/{rnd.choice(_WORDS)}_{i % 40}.py:{rnd.randrange(1, 900)}:"
        f"    value_{base + i} = compute_{rnd.choice(_WORDS)}(x, {rnd.randrange(99)})"
        for i in range(lines)
    )


def _code(rnd: random.Random, functions: int, base: int) -> str:
    parts = ["import os\n\n"]
    for i in range(functions):
        name = f"{rnd.choice(_WORDS)}_{base + i}"
        parts.append(
            f"def {name}(value, limit={rnd.randrange(10, 99)}):\n"
            f'    """Handle {rnd.choice(_WORDS)} values for {rnd.choice(_HOSTS)}."""\n'
            f"    if value > limit:\n"
            f"        raise ValueError('{name}: too large')\n"
            f"    total = value * {rnd.randrange(2, 9)}\n"
            f"    return total + len(os.sep)\n\n"
        )
    return "".join(parts)


def _output(rnd: random.Random, kind: int, target_chars: int, base: int) -> str:
    """One tool output of about `target_chars` characters."""
    makers = (
        (_records, 170),  # characters per row, roughly
        (_log, 100),
        (_grep, 75),
        (_code, 200),
    )
    make, per_unit = makers[kind % len(makers)]
    return make(rnd, max(1, target_chars // per_unit), base)


def _call(i: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
        ],
    }


def exchanges(n: int, question: bool, seed: int = 7) -> list[dict[str, Any]]:
    """`n` tool exchanges of about 1.5 KB outputs, after a user question or none."""
    rnd = random.Random(seed)
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are an operations agent."}]
    if question:
        messages.append({"role": "user", "content": "Which hosts are degraded or slow, and why?"})
    for i in range(n):
        messages.append(_call(i, "fetch", {"target": rnd.choice(_HOSTS), "page": i}))
        messages.append(
            {
                "role": "tool",
                "tool_call_id": f"call_{i}",
                "content": _output(rnd, i % 3, 1500, i * 100),
            }
        )
    return messages


def tiny_messages(n: int) -> list[dict[str, Any]]:
    """One request of `n` tool messages of a few dozen bytes each (about 50 bytes a
    message; their calls are left out, which would double the size)."""
    return [
        {"role": "user", "content": "Ping every host."},
        *({"role": "tool", "tool_call_id": f"c{i}", "content": f"pong {i}: ok"} for i in range(n)),
    ]


def agent_session(turns: int, chat: bool = False, seed: int = 11) -> list[dict[str, Any]]:
    """A tool-using agent in `turns` rounds of 20-50 KB outputs: answering one task
    (autonomous), or with a user message before every round (`chat`)."""
    rnd = random.Random(seed)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a site-reliability agent. Use tools; be thorough."},
        {
            "role": "user",
            "content": "Find out why checkout latency doubled since Monday and fix it.",
        },
    ]
    for i in range(turns):
        if chat and i:
            messages.append({"role": "assistant", "content": f"Round {i - 1} checked."})
            messages.append({"role": "user", "content": f"Now look at {rnd.choice(_HOSTS)}."})
        kind = rnd.randrange(4)
        name = ("query_metrics", "read_logs", "grep", "read_file")[kind]
        messages.append(_call(i, name, {"target": rnd.choice(_HOSTS), "step": i}))
        size = rnd.randrange(20_000, 50_000)
        messages.append(
            {
                "role": "tool",
                "tool_call_id": f"call_{i}",
                "content": _output(rnd, kind, size, i * 1000),
            }
        )
    return messages


def _counter() -> Any:
    try:
        import tiktoken

        enc = tiktoken.get_encoding("o200k_base")
    except Exception as exc:  # never guess: a chars/4 estimate is off by ~28% on logs
        raise SystemExit(f"o200k_base is not available offline: {exc}") from exc
    return lambda text: len(enc.encode_ordinary(text))


def _tokens(messages: list[dict[str, Any]], count: Any) -> int:
    """o200k tokens of the texts a provider reads (strings as they are, the rest as JSON)."""
    total = 0
    for m in messages:
        content = m.get("content")
        total += 4 + count(content if isinstance(content, str) else json.dumps(content))
        if m.get("tool_calls"):
            total += count(json.dumps(m["tool_calls"]))
    return total


def _digest(message: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(message, sort_keys=True).encode()).hexdigest()[:16]


def scaling(job: dict[str, Any], compress: Any) -> dict[str, Any]:
    compress(exchanges(20, True, seed=1), model="gpt-4o")  # tokenizer load, lazy imports
    collecting: list[float] = []  # start, stop, start, stop... of garbage collections

    def clock(phase: str, info: dict[str, Any]) -> None:
        collecting.append(time.perf_counter())

    gc.callbacks.append(clock)
    rows = []
    for n in job["sizes"]:
        # A seed per size: no conversation shares content with one measured before it.
        body = json.dumps(exchanges(n, bool(job["question"]), seed=n))
        messages = json.loads(body)
        start, cpu = time.perf_counter(), time.process_time()
        compress(messages, model="gpt-4o")
        first, first_cpu = time.perf_counter() - start, time.process_time() - cpu
        resends = []
        for _ in range(3):  # the quickest of three: a shared machine adds only delays
            again = json.loads(body)  # new objects, as a proxy parses a re-sent request
            collecting.clear()
            start, cpu = time.perf_counter(), time.process_time()
            compress(again, model="gpt-4o")
            resent, resent_cpu = time.perf_counter() - start, time.process_time() - cpu
            gc_s = sum(collecting[1::2]) - sum(collecting[0::2])
            resends.append((resent_cpu, resent, gc_s))
            del again
        resent_cpu, resent, gc_s = min(resends)
        rows.append(
            {
                "n": n,
                "bytes": len(body),
                "first_s": first,
                "first_cpu_s": first_cpu,
                "resent_s": resent,
                "resent_cpu_s": resent_cpu,
                "resent_gc_s": gc_s,
            }
        )
    out: dict[str, Any] = {"rows": rows}
    if job.get("tiny"):
        body = json.dumps(tiny_messages(int(job["tiny"])))
        messages = json.loads(body)
        start = time.perf_counter()
        compress(messages, model="gpt-4o")
        out["tiny"] = {"n": int(job["tiny"]), "bytes": len(body), "s": time.perf_counter() - start}
    return out


def agent_loop(job: dict[str, Any], compress: Any) -> dict[str, Any]:
    messages = agent_session(int(job["turns"]), chat=job.get("shape") == "chat")
    count = _counter()
    requests = []
    total = 0.0
    ends = [i for i, m in enumerate(messages) if m["role"] == "tool"]
    for end in ends:  # a request after every tool output
        request = json.loads(json.dumps(messages[: end + 1]))
        start = time.perf_counter()
        result = compress(request, model=job["model"])
        seconds = time.perf_counter() - start
        total += seconds
        sent = result.messages
        requests.append(
            {
                "seconds": seconds,
                "digests": [_digest(m) for m in sent],
                "sizes": [_tokens([m], count) for m in sent],
                "tokens": _tokens(sent, count),
            }
        )
    return {"requests": requests, "total_s": total}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: loop_runner.py JOB.json OUT.json", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as fh:
        job = json.load(fh)
    from headroom import compress

    phase = {"scaling": scaling, "agent_loop": agent_loop}[job["phase"]]
    out = phase(job, compress)
    with open(argv[1], "w", encoding="utf-8") as fh:
        json.dump(out, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
