"""Logs, code reads, grep output and plain text: what each keeps, on small inputs."""

from __future__ import annotations

import random

import pytest

from headroom.core.config import CompressConfig
from headroom.core.relevance import Relevance
from headroom.core.transforms import code, grep, logs, text
from headroom.core.transforms.base import Job


def job(body: str, query: str = "", **config: object) -> Job:
    return Job(
        text=body,
        relevance=Relevance.from_texts([query] if query else []),
        config=CompressConfig(**config),  # type: ignore[arg-type]
        ccr_hash="0123456789abcdef",
    )


# --- plain text ----------------------------------------------------------------------------


def test_tidy_whitespace_cuts_trailing_blanks_and_folds_blank_runs() -> None:
    source = "a  \t\n\n\n  \nb" + " " * 5000 + "c\r\n   indented\n\n"
    assert text.tidy_whitespace(source) == "a\n\nb" + " " * 5000 + "c\n   indented"


def test_prose_skips_the_log_template_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(1)
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "a",
        "lazy",
        "dog",
        "while",
        "rain",
        "falls",
        "on",
        "quiet",
        "roofs",
    ]
    prose = "\n\n".join(
        " ".join(rng.choice(words) for _ in range(60)).capitalize() + ".  " for _ in range(200)
    )

    def fail(_: Job) -> None:
        raise AssertionError("prose went through the log template pass")

    monkeypatch.setattr(text, "compress_logs", fail)
    out = text.compress_text_lines(job(prose))
    assert out is not None and out.name == "text:tidy"


def test_repetitive_text_still_collapses_like_a_log() -> None:
    lines = [f"step {i % 3} done" for i in range(200)] + ["unusual: disk 97% full"]
    out = text.compress_text_lines(job("\n".join(lines)))
    assert out is not None and out.lossy and "unusual: disk 97% full" in out.text


def test_broken_deep_json_is_tidied_as_text() -> None:
    depth = 300
    broken = "{" + "".join(f'\n{" " * i}"k{i}": {{' for i in range(depth)) + "\n,,"
    out = text.compress_text_lines(job(broken + "   \n"))
    assert out is not None and out.text == broken


# --- logs ----------------------------------------------------------------------------------


def _chatter(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        f"2025-01-02 10:{i // 60 % 60:02d}:{i % 60:02d} INFO [web-{i % 6}] GET /items/{rng.randint(1, 9999)} 200"
        if i % 3
        else f"2025-01-02 10:{i // 60 % 60:02d}:{i % 60:02d} DEBUG pool size={rng.randint(1, 64)}"
        for i in range(n)
    ]


def test_rare_info_template_is_kept_by_frequency() -> None:
    lines = _chatter(3000)
    events = [
        f"2025-01-02 11:00:0{k} INFO [admin] snapshot of tenant t{k} exported to bucket cold-{k}"
        for k in range(8)
    ]
    for k, event in enumerate(events):
        lines[300 * k + 17] = event
    out = logs.compress_logs(job("\n".join(lines)))
    assert out is not None and out.lossy
    for event in events:
        assert event in out.text
    assert out.text.count("\n") < 40


def test_frequent_info_template_still_collapses() -> None:
    lines = _chatter(3000)
    for k in range(60):
        lines[40 * k + 7] = f"2025-01-02 11:00:00 INFO [admin] snapshot of tenant t{k} exported"
    out = logs.compress_logs(job("\n".join(lines)))
    assert out is not None
    assert out.text.count("snapshot of tenant") < 5


def test_python_traceback_kept_whole_with_indentation() -> None:
    lines = _chatter(600)
    trace = [
        "2025-01-02 10:05:00 ERROR [jobs] nightly export failed",
        "Traceback (most recent call last):",
        '  File "/srv/jobs/export.py", line 88, in run',
        "    rows = self.fetch(batch)",
        '  File "/srv/jobs/export.py", line 120, in fetch',
        "    raise QuotaExceeded(limit)",
        "jobs.errors.QuotaExceeded: 5000",
    ]
    lines[300:301] = trace
    out = logs.compress_logs(job("\n".join(lines)))
    assert out is not None
    assert "\n".join(trace) in out.text  # every line, in order, indentation intact


def test_java_stack_trace_with_cause_is_one_block() -> None:
    lines = _chatter(600)
    trace = [
        "2025-01-02 10:05:00 ERROR [ledger] close failed",
        "java.lang.IllegalStateException: ledger out of balance",
        "\tat com.example.Ledger.close(Ledger.java:212)",
        "\tat com.example.Job.run(Job.java:40)",
        "Caused by: java.io.IOException: store unreachable",
        "\tat com.example.Store.write(Store.java:77)",
        "\t... 12 more",
    ]
    lines[200:201] = trace
    assert "\n".join(trace) in "\n".join(logs.units("\n".join(lines)))
    out = logs.compress_logs(job("\n".join(lines)))
    assert out is not None and "\n".join(trace) in out.text


def test_repeated_tracebacks_collapse_as_blocks() -> None:
    lines = _chatter(300)
    block = [
        "2025-01-02 10:05:00 WARN [jobs] retrying",
        "Traceback (most recent call last):",
        '  File "/srv/jobs/net.py", line 12, in call',
        "TimeoutError: timed out",
    ]
    for k in range(30):
        lines[10 * k + 5 : 10 * k + 6] = block
    out = logs.compress_logs(job("\n".join(lines)))
    assert out is not None
    assert "(each with 3 more lines)" in out.text
    assert out.text.count("TimeoutError: timed out") <= 2  # first and last occurrence


def test_generalization_does_not_merge_messages_of_rare_words() -> None:
    lines = [f"10:00:{i % 60:02d} worker ready queue={i}" for i in range(400)]
    rare = [
        "10:01:00 cache warmup completed for shard alpha",
        "10:01:01 certificate rotation finished for gateway",
        "10:01:02 leader election won by node seven",
        "10:01:03 snapshot exported to archive bucket",
        "10:01:04 quota raised for tenant acme",
        "10:01:05 schema upgraded on replica east",
    ]
    for k, line in enumerate(rare):
        lines[50 * k + 3] = line
    out = logs.compress_logs(job("\n".join(lines)))
    assert out is not None
    for line in rare:
        assert line in out.text


def test_lossless_logs_keep_indentation() -> None:
    lines = [*_chatter(20), "Traceback (most recent call last):", '    File "x.py", line 1']
    out = logs.compress_logs(job("\n".join(lines), lossy=False))
    assert out is not None and '\n    File "x.py", line 1' in out.text


# --- code ----------------------------------------------------------------------------------


def _client(fact: str, n: int = 30) -> str:
    src = ["import time", "", "class Client:"]
    for i in range(n):
        src += [
            "",
            f"    def step_{i}(self, value):",
            f'        """Step {i}."""',
            "        result = self.prepare(value)",
            "        if result is None:",
            "            return None",
            "        result = self.finish(result)",
            "        return result",
        ]
        if i == 17:
            src[-3:-3] = [f"        {fact}", "            result = self.retry(result)"]
    return "\n".join(src)


@pytest.mark.parametrize(
    "fact",
    [
        "for attempt in range(7):",
        "if len(result) > 250:",
        "self.backoff_seconds = 2.5",
        "raise GiveUp('no answer after 30 seconds')",
        "assert 0 < value <= 9, 'value out of range'",
        "time.sleep(45)",
    ],
)
def test_elided_body_keeps_its_literal_lines(fact: str) -> None:
    out = code.compress_code(job(_client(fact), query="How does the client behave?"))
    assert out is not None and out.lossy
    assert f"        {fact}" in out.text.splitlines()
    assert "def step_17(self, value):" in out.text
    assert out.text.count("self.finish(result)") == 0  # the rest of each body is elided


def test_boilerplate_literals_stay_elided() -> None:
    src = ["class Store:"]
    for i in range(40):
        src += [
            f"    def get_{i}(self, key):",
            "        value = self.read(key)",
            f"        if value is None: raise KeyError('missing key {i}')",
            "        value = self.decode(value)",
            "        return value",
        ]
    out = code.compress_code(job("\n".join(src)))
    assert out is not None
    assert "missing key" not in out.text  # the same guard in every method is not a fact


def test_one_line_definitions_are_not_bodies() -> None:
    stubs = [f"def f{i}(x): return x + {i}" for i in range(500)]
    source = ["def real(a):", "    b = a * 2", "    c = b + 3", "    d = c - 4", "    return d"]
    functions = code.find_functions([*source, *stubs])
    assert [f.name for f in functions] == ["real"]
    assert functions[0].end == 5


def test_long_lines_are_not_brace_definitions() -> None:
    long_line = "x = f(" + "a) " * 300 + "{"
    src = ["int main(int argc) {", "  return 0;", "}", long_line, "}"]
    assert [f.name for f in code.find_functions(src)] == ["main"]


# --- grep ----------------------------------------------------------------------------------


def _grep(context: bool, heading: bool, files: int = 30) -> str:
    out: list[str] = []
    for f in range(files):
        path = f"src/mod{f}.py" if f % 10 else f"migrations/versions/m{f}.py"
        if heading:
            out.append(path)
        for g in range(3):
            n = 10 + 20 * g
            group = [(n, ":", f"    total = compute(x, {f}, {g})")]
            if context:
                group = [(n - 1, "-", f"    x = load({f})"), *group, (n + 1, "-", f"    y = {g}")]
            if context and (g or not heading) and out:
                out.append("--")
            out += [f"{k}{s}{t}" if heading else f"{path}{s}{k}{s}{t}" for k, s, t in group]
        if heading:
            out.append("")
    return "\n".join(out)


@pytest.mark.parametrize("heading", [False, True])
def test_grep_context_lines_stay_with_their_match(heading: bool) -> None:
    source = _grep(context=True, heading=heading)
    out = grep.compress_grep(job(source))
    assert out is not None and out.lossy
    kept = out.text.splitlines()
    for k, line in enumerate(kept):
        if line.startswith("  ") and not line.startswith("  -"):  # a match
            assert kept[k - 1].startswith("  -") and kept[k + 1].startswith("  -")


def test_ripgrep_heading_layout_is_read_as_grep() -> None:
    source = _grep(context=True, heading=True)
    items = grep.parse_grep(source)
    matches = [x for x in items if isinstance(x, grep.Match) and x.sep == ":"]
    assert len(matches) == 90 and matches[0].path == "migrations/versions/m0.py"
    assert matches[0].number == "10" and matches[0].text == "    total = compute(x, 0, 0)"
    out = text.compress_text_lines(job(source))
    assert out is not None and out.name.startswith("grep:")


def test_grep_keeps_every_match_under_a_path_named_in_words() -> None:
    source = _grep(context=False, heading=False)
    out = grep.compress_grep(job(source, query="Which compute calls are in the migrations?"))
    assert out is not None and out.lossy
    for f in (0, 10, 20):
        for g in range(3):
            assert f"total = compute(x, {f}, {g})" in out.text
    assert "total = compute(x, 5, 2)" not in out.text  # other files keep their first two


def test_grep_paths_naming_most_of_the_output_select_nothing() -> None:
    source = _grep(context=False, heading=False)
    out = grep.compress_grep(job(source, query="grep -rn compute src migrations"))
    assert out is not None
    assert "total = compute(x, 0, 2)" not in out.text


def test_grep_units_are_match_groups() -> None:
    units = grep.units(_grep(context=True, heading=False, files=2))
    assert units[0] == (
        "migrations/versions/m0.py-9-    x = load(0)\n"
        "migrations/versions/m0.py:10:    total = compute(x, 0, 0)\n"
        "migrations/versions/m0.py-11-    y = 0"
    )
    assert len(units) == 6
