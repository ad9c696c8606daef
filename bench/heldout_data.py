"""Invented vocabularies and tool-output builders for the held-out generator.

Everything here is made up for this generator (names, systems, log templates,
code): nothing is taken from ``../shared/corpus``, so an engine tuned on the
corpus meets data it has not seen. Every builder takes a ``random.Random`` and
is deterministic for it.
"""

from __future__ import annotations

import json
import pprint
import random
import string
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "CODE_NOISE",
    "WORDS",
    "code_module",
    "iso_time",
    "log_lines",
    "noise_function",
    "render_records",
    "token_id",
    "unique_ids",
]

#: A neutral vocabulary for names of people, places and things.
WORDS = (
    "amber",
    "basalt",
    "cedar",
    "dune",
    "ember",
    "fjord",
    "garnet",
    "harbor",
    "indigo",
    "juniper",
    "kelp",
    "lumen",
    "moraine",
    "nectar",
    "onyx",
    "pylon",
    "quarry",
    "russet",
    "sable",
    "tundra",
    "umber",
    "vesper",
    "willow",
    "yarrow",
    "zephyr",
    "alder",
    "bramble",
    "cobalt",
    "delta",
    "fennel",
    "gravel",
    "heron",
    "iris",
    "jasper",
    "kestrel",
    "larch",
    "marten",
    "nimbus",
    "orchid",
    "pebble",
    "quince",
    "raven",
    "sorrel",
    "thistle",
    "upland",
    "violet",
    "wren",
)

_BASE = datetime(2026, 3, 2, 6, 0, 0, tzinfo=timezone.utc)


def token_id(rng: random.Random, prefix: str, length: int = 6) -> str:
    """An opaque identifier such as ``po_7KQ2MX``."""
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(rng.choice(alphabet) for _ in range(length))


def unique_ids(rng: random.Random, prefix: str, count: int, length: int = 6) -> list[str]:
    """``count`` distinct identifiers."""
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        candidate = token_id(rng, prefix, length)
        if candidate not in seen:
            seen.add(candidate)
            out.append(candidate)
    return out


def iso_time(seconds: float, *, date_only: bool = False) -> str:
    """An ISO-8601 timestamp ``seconds`` after a fixed base instant."""
    moment = _BASE + timedelta(seconds=seconds)
    if date_only:
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def render_records(rows: Sequence[dict[str, Any]], style: str) -> str:
    """Records as a tool would print them: ``json`` (indented), ``ndjson`` or ``repr``.

    ``repr`` is what ``str()`` of a list of dicts gives (single quotes, one line),
    the way some frameworks hand a tool's Python return value to the model;
    ``pprint`` is the multi-line variant.
    """
    if style == "json":
        return json.dumps(list(rows), indent=2)
    if style == "json_compact":
        return json.dumps({"count": len(rows), "items": list(rows)})
    if style == "ndjson":
        return "\n".join(json.dumps(row) for row in rows)
    if style == "repr":
        return str(list(rows))
    if style == "pprint":
        return pprint.pformat(list(rows), width=110, sort_dicts=False)
    raise ValueError(f"unknown record style {style!r}")


# --------------------------------------------------------------------------- logs

_LOG_TEMPLATES = (
    ("INFO", "http", "{method} {route} -> {status} in {ms}ms req={req}"),
    ("INFO", "http", "{method} {route} -> {status} in {ms}ms req={req}"),
    ("INFO", "http", "{method} {route} -> {status} in {ms}ms req={req}"),
    ("DEBUG", "cache", "lookup {key} hit={hit} age={age}s"),
    ("INFO", "queue", "consumer-{n} acked {count} messages from {topic}"),
    ("INFO", "queue", "consumer-{n} acked {count} messages from {topic}"),
    ("DEBUG", "pool", "connections busy={busy} idle={idle} waiting=0"),
    ("INFO", "scheduler", "tick {tick}: {pending} pending, {running} running"),
    ("WARN", "http", "upstream {host} answered slowly ({ms}ms) on {route}"),
    ("INFO", "gc", "collected generation {gen}, freed {mb} MB in {ms}ms"),
)
_ROUTES = (
    "/v2/quotes",
    "/v2/quotes/{id}",
    "/v2/parcels",
    "/v2/parcels/{id}/track",
    "/internal/health",
    "/v2/accounts/{id}",
    "/v2/manifests",
)
_TOPICS = ("manifest.created", "parcel.scanned", "quote.priced", "label.printed")


def _fill(rng: random.Random, template: str, tick: int) -> str:
    route = rng.choice(_ROUTES).replace("{id}", str(rng.randint(1000, 99999)))
    values = {
        "method": rng.choice(("GET", "GET", "GET", "POST", "PUT")),
        "route": route,
        "status": rng.choice((200, 200, 200, 200, 201, 204, 304, 404)),
        "ms": rng.randint(2, 480),
        "req": token_id(rng, "r", 8).lower(),
        "key": f"{rng.choice(('quote', 'acct', 'zone'))}:{rng.randint(1, 9999)}",
        "hit": rng.choice(("true", "true", "false")),
        "age": rng.randint(0, 600),
        "n": rng.randint(1, 6),
        "count": rng.randint(1, 250),
        "topic": rng.choice(_TOPICS),
        "busy": rng.randint(0, 30),
        "idle": rng.randint(0, 12),
        "tick": tick,
        "pending": rng.randint(0, 40),
        "running": rng.randint(0, 8),
        "host": f"{rng.choice(WORDS)}-{rng.randint(1, 9)}.svc.internal",
        "gen": rng.randint(0, 2),
        "mb": rng.randint(1, 90),
    }
    return template.format(**values)


def log_lines(
    rng: random.Random, count: int, start_s: float, service: str
) -> tuple[list[str], list[float]]:
    """``count`` ordinary log lines of a busy service and their timestamps (seconds)."""
    lines: list[str] = []
    stamps: list[float] = []
    clock = start_s
    for tick in range(count):
        clock += rng.uniform(0.05, 1.6)
        level, component, template = rng.choice(_LOG_TEMPLATES)
        stamp = iso_time(clock)[:-1] + f".{int(clock % 1 * 1000):03d}Z"
        lines.append(
            f"{stamp} {level:<5} {service}[{rng.randint(20, 24)}] {component}: "
            f"{_fill(rng, template, tick)}"
        )
        stamps.append(clock)
    return lines, stamps


# --------------------------------------------------------------------------- code

#: Statements used to pad function bodies; none holds a planted fact.
CODE_NOISE = (
    "if not {a}:\n    return None",
    "{v} = {a}.get({k!r}, {d})",
    "for item in {a}:\n    if item is None:\n        continue\n    {v}.append(item)",
    "logger.debug('%s: %d items', {k!r}, len({a}))",
    "{v} = sorted({a}, key=lambda entry: entry.{attr})",
    "try:\n    {v} = self._{attr}[{k!r}]\nexcept KeyError:\n    {v} = {d}",
    "with self._lock:\n    self._{attr} = {v}",
    "{v} = [entry for entry in {a} if entry.{attr}]",
    "if isinstance({a}, str):\n    {a} = [{a}]",
    "self._metrics.incr({k!r})",
)


def noise_function(rng: random.Random, name: str, indent: str = "", method: bool = False) -> str:
    """A plausible function or method with a padded body and no planted literal."""
    arg = rng.choice(("items", "batch", "entries", "payload", "records", "rows"))
    var = rng.choice(("result", "out", "found", "selected", "pending", "acc"))
    attr = rng.choice(WORDS)
    params = f"self, {arg}" if method else arg
    body = [f'"""{rng.choice(_DOC_VERBS)} the {rng.choice(WORDS)} {rng.choice(_DOC_NOUNS)}."""']
    body.append(f"{var} = []")
    for _ in range(rng.randint(3, 7)):
        snippet = rng.choice(CODE_NOISE).format(
            a=arg, v=var, k=rng.choice(WORDS), d="None", attr=attr
        )
        body.extend(snippet.splitlines())
    body.append(f"return {var}")
    inner = indent + "    "
    return f"{indent}def {name}({params}):\n" + "\n".join(inner + line for line in body) + "\n"


_DOC_VERBS = ("Collect", "Normalise", "Merge", "Filter", "Resolve", "Index", "Refresh", "Drop")
_DOC_NOUNS = ("entries", "records", "handles", "snapshots", "segments", "markers", "slots")
_VERBS = ("load", "merge", "scan", "index", "prune", "render", "resolve", "stage", "emit", "sync")


def code_module(
    rng: random.Random,
    planted: Sequence[str],
    classes: int,
    methods: tuple[int, int] = (3, 6),
    header: str = "",
) -> str:
    """A Python module of noise classes and functions with ``planted`` blocks spread through it."""
    blocks: list[str] = []
    used: set[str] = set()
    for _ in range(classes):
        cls = rng.choice(WORDS).capitalize() + rng.choice(
            ("Store", "Index", "Cache", "Queue", "Map")
        )
        while cls in used:
            cls += "2"
        used.add(cls)
        parts = [f'class {cls}:\n    """Keeps {rng.choice(WORDS)} state."""\n']
        for _m in range(rng.randint(*methods)):
            name = f"{rng.choice(_VERBS)}_{rng.choice(WORDS)}"
            parts.append(noise_function(rng, name, indent="    ", method=True))
        blocks.append("\n".join(parts))
        if rng.random() < 0.5:
            blocks.append(noise_function(rng, f"{rng.choice(_VERBS)}_{rng.choice(WORDS)}s"))
    for block in planted:
        blocks.insert(rng.randint(1, max(1, len(blocks) - 1)), block)
    head = header or (
        '"""Service internals."""\n\nfrom __future__ import annotations\n\n'
        "import logging\nimport threading\nimport time\n\nlogger = logging.getLogger(__name__)\n"
    )
    return head + "\n\n" + "\n\n".join(blocks)
