"""Run one engine on one corpus case, inside whatever interpreter runs this file.

Standard library only, so it runs unchanged in headroom-ai's own virtualenv (the
peer installs the same import name ``headroom``) and in ours: both engines are
measured by this same code, each in a fresh process per case.

    python peer_runner.py JOB.json OUT.json

JOB holds ``case`` (path to the case file), ``model``, ``phase``, ``points`` and
``repeats``; OUT receives the figures as JSON.

Every phase times ``import headroom`` first (import time), then one call on
synthetic warm-up conversations unrelated to the corpus (first call: tokenizer
load, lazy imports). Then:

* phase ``single``: the whole case, first seen by this process (first-seen
  latency), then the identical input again ``repeats`` times (repeated latency);
  the compressed messages are returned.
* phase ``replay``: each request of the conversation (``points`` = the index of
  its last message) compressed in chronological order, as an agent loop sends
  them; a separate process, so nothing learnt from the later turns (such as the
  final question) can leak into earlier requests through a memo.
"""

from __future__ import annotations

import copy
import gc
import json
import sys
import time
import traceback
from typing import Any

__all__ = ["main", "warmup_conversations"]


def _records(n: int) -> str:
    statuses = ("ok", "ok", "ok", "degraded", "ok")
    return json.dumps(
        [
            {
                "host": f"node-{i:03d}.warmup.invalid",
                "zone": f"z{i % 4}",
                "cpu_pct": (i * 37) % 100,
                "status": statuses[i % len(statuses)],
                "uptime_h": i * 11 % 713,
            }
            for i in range(n)
        ],
        indent=2,
    )


def _log(n: int) -> str:
    lines = []
    for i in range(n):
        level = "WARN" if i % 23 == 7 else "INFO"
        lines.append(
            f"2020-01-0{1 + i % 9} 10:{i % 60:02d}:{(i * 7) % 60:02d} {level} worker[{1000 + i % 7}] "
            f"processed batch {i} in {(i * 13) % 250} ms queue={i % 17}"
        )
    return "\n".join(lines)


def _code(n: int) -> str:
    parts = ["import os\nimport sys\n\n\nclass Warmup:\n    '''Synthetic warm-up module.'''\n"]
    for i in range(n):
        parts.append(
            f"    def step_{i}(self, value):\n"
            f"        if value < {i}:\n"
            f"            raise ValueError('step {i} needs at least {i}')\n"
            f"        total = value * {i + 1}\n"
            f"        return total + len(os.sep) + len(sys.argv)\n"
        )
    return "\n".join(parts)


def _grep(n: int) -> str:
    return "\n".join(
        f"src/warmup/module_{i % 9}.py:{10 + i}:    result = helper_{i}(x)" for i in range(n)
    )


def _table(n: int) -> str:
    head = " id | name                 | amount\n----+----------------------+--------"
    rows = [f" {i:>2} | item-{i:<17} | {i * 3.5:>6.2f}" for i in range(n)]
    return "\n".join([head, *rows, f"({n} rows)"])


def warmup_conversations() -> list[list[dict[str, Any]]]:
    """Synthetic OpenAI and Anthropic conversations that touch every content type."""
    outputs = [_records(60), _log(150), _code(40), _grep(120), _table(80)]
    names = ["list_hosts", "read_logs", "read_file", "grep", "run_sql"]
    openai: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a warm-up assistant."},
        {"role": "user", "content": "Check the hosts, logs, code, usages and sales."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_w{i}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps({"target": name})},
                }
                for i, name in enumerate(names)
            ],
        },
        *(
            {"role": "tool", "tool_call_id": f"call_w{i}", "content": out}
            for i, out in enumerate(outputs)
        ),
        {"role": "assistant", "content": "Collected."},
        {"role": "user", "content": "Which host is degraded and which step raises?"},
    ]
    anthropic: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "Check the hosts and logs."}]},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": f"toolu_w{i}", "name": name, "input": {"target": name}}
                for i, name in enumerate(names)
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": f"toolu_w{i}", "content": out}
                for i, out in enumerate(outputs)
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "Collected."}]},
        {"role": "user", "content": [{"type": "text", "text": "Which host is degraded?"}]},
    ]
    return [openai, anthropic]


def _dump(messages: Any) -> tuple[Any, bool]:
    """The messages as plain JSON data, and whether they serialized without help."""
    try:
        return json.loads(json.dumps(messages, allow_nan=False)), True
    except (TypeError, ValueError):
        return json.loads(json.dumps(messages, default=repr)), False


_CPU_SECONDS: list[float] = []


def _timed(compress: Any, messages: list[dict[str, Any]], model: str) -> tuple[Any, float]:
    """Wall-clock seconds of one call (its CPU seconds go to ``_CPU_SECONDS``)."""
    cpu = time.process_time()
    start = time.perf_counter()
    result = compress(messages, model=model)
    elapsed = time.perf_counter() - start
    _CPU_SECONDS.append(time.process_time() - cpu)
    return result, elapsed


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Measure one case as described in the module docstring."""
    out: dict[str, Any] = {"python": sys.version.split()[0], "errors": []}
    cpu = time.process_time()
    start = time.perf_counter()
    import headroom
    from headroom import compress

    out["import_s"] = time.perf_counter() - start
    out["import_cpu_s"] = time.process_time() - cpu
    out["engine_version"] = str(getattr(headroom, "__version__", "?"))
    out["engine_path"] = str(getattr(headroom, "__file__", "?"))

    with open(job["case"], encoding="utf-8") as fh:
        case = json.load(fh)
    model = job["model"]
    warm = warmup_conversations()
    if case.get("format") == "anthropic":
        warm.reverse()
    try:
        _, out["first_call_s"] = _timed(compress, warm[0], model)
        _timed(compress, warm[1], model)
    except Exception:
        out["errors"].append("warm-up: " + traceback.format_exc(limit=3))

    if job.get("phase") == "replay":
        out["prefixes"] = _replay(compress, case["messages"], job.get("points", []), model)
    else:
        _single(compress, case["messages"], model, int(job.get("repeats", 5)), out)
    return out


def _single(
    compress: Any, messages: list[dict[str, Any]], model: str, repeats: int, out: dict[str, Any]
) -> None:
    """First-seen and repeated latency on the whole case, and its compressed messages."""
    pristine = copy.deepcopy(messages)
    gc.collect()
    try:
        result, out["first_seen_s"] = _timed(compress, messages, model)
        out["first_seen_cpu_s"] = _CPU_SECONDS[-1]
        dumped, serializable = _dump(result.messages)
        out["result"] = {
            "messages": dumped,
            "serializable": serializable,
            "tokens_before": getattr(result, "tokens_before", None),
            "tokens_after": getattr(result, "tokens_after", None),
            "transforms": [str(t) for t in getattr(result, "transforms_applied", []) or []],
        }
        repeated: list[float] = []
        identical = True
        for _ in range(repeats):
            again, seconds = _timed(compress, messages, model)
            repeated.append(seconds)
            out.setdefault("repeated_cpu_s", []).append(_CPU_SECONDS[-1])
            identical = identical and _dump(again.messages)[0] == dumped
        out["repeated_s"] = repeated
        out["repeat_identical"] = identical
    except Exception:
        out["errors"].append("compress: " + traceback.format_exc(limit=5))
    out["input_mutated"] = messages != pristine


def _replay(
    compress: Any, messages: list[dict[str, Any]], points: list[int], model: str
) -> list[dict[str, Any]]:
    """Compress each request of the conversation in order, as an agent loop would send them."""
    prefixes: list[dict[str, Any]] = []
    for end in points:
        entry: dict[str, Any] = {"end": end}
        try:
            result, entry["seconds"] = _timed(compress, messages[: end + 1], model)
            entry["messages"], entry["serializable"] = _dump(result.messages)
        except Exception:
            entry["error"] = traceback.format_exc(limit=5)
        prefixes.append(entry)
    return prefixes


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: peer_runner.py JOB.json OUT.json", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as fh:
        job = json.load(fh)
    out = run(job)
    with open(argv[1], "w", encoding="utf-8") as fh:
        json.dump(out, fh, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
