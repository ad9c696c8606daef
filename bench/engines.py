"""Running an engine on a case in a fresh interpreter, ours or headroom-ai's.

Each case runs in its own process (``bench/peer_runner.py``) so first-seen
latency is honest: nothing is memoized from an earlier case. headroom-ai
installs the same import name ``headroom``, so it runs only in its own
virtualenv, in isolated mode (``-I``: no ``PYTHONPATH``, no script directory on
``sys.path``) from a working directory outside this repository, fully offline.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "OFFLINE_ENV",
    "PEER_PACKAGE",
    "PEER_VERSION",
    "Engine",
    "checkout",
    "ensure_peer_venv",
    "merge_phases",
    "ours",
    "peer",
    "run_phase",
    "tiktoken_cache",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).resolve().parent / "peer_runner.py"

PEER_PACKAGE = "headroom-ai"
PEER_VERSION = "0.42.0"

#: Keeps every engine off the network: tiktoken, LiteLLM's price map, HF hub, telemetry.
OFFLINE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HEADROOM_OFFLINE": "1",
    "HEADROOM_TELEMETRY": "off",
    "HEADROOM_UPDATE_CHECK": "off",
    "TOKENIZERS_PARALLELISM": "false",
}
_DROP_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH")
_TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"


@dataclass(frozen=True)
class Engine:
    """An interpreter that imports one engine as ``headroom``."""

    name: str
    python: str
    isolated: bool
    cwd: Path
    env: dict[str, str]


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
    env.update(OFFLINE_ENV)
    return env


def ours() -> Engine:
    """This checkout's engine, in the running interpreter."""
    env = _base_env()
    env["PYTHONPATH"] = str(REPO_ROOT)
    return Engine("headroom", sys.executable, False, REPO_ROOT, env)


def checkout(ref: str, into: Path) -> Engine:
    """This repository's engine at git `ref` (``git archive`` into `into`), so figures
    before and after a change come from one run on one machine."""
    archive = subprocess.run(
        ["git", "archive", ref], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    env = _base_env()
    env["PYTHONPATH"] = str(into)
    return Engine(f"headroom at {ref}", sys.executable, False, into, env)


def tiktoken_cache(directory: Path) -> Path:
    """A ``TIKTOKEN_CACHE_DIR`` holding the encodings this repo bundles, named as tiktoken expects."""
    directory.mkdir(parents=True, exist_ok=True)
    for source in sorted((REPO_ROOT / "headroom" / "core" / "tokenizer_data").glob("*.tiktoken")):
        url = _TIKTOKEN_URL.format(name=source.stem)
        target = directory / hashlib.sha1(url.encode()).hexdigest()
        if not target.exists():
            shutil.copyfile(source, target)
    return directory


def peer(python: str, workdir: Path) -> Engine:
    """headroom-ai in the virtualenv whose interpreter is ``python``."""
    env = _base_env()
    env["TIKTOKEN_CACHE_DIR"] = str(tiktoken_cache(workdir / "tiktoken_cache"))
    return Engine(f"{PEER_PACKAGE} {PEER_VERSION}", python, True, workdir, env)


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _installed_version(python: Path) -> str | None:
    probe = "import importlib.metadata as m; print(m.version('headroom-ai'))"
    try:
        done = subprocess.run(
            [str(python), "-I", "-c", probe],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def ensure_peer_venv(venv: Path) -> Path:
    """Create ``venv`` with headroom-ai pinned, unless it already holds that version."""
    python = _venv_python(venv)
    if python.exists() and _installed_version(python) == PEER_VERSION:
        return python
    print(f"creating {venv} with {PEER_PACKAGE}=={PEER_VERSION} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            f"{PEER_PACKAGE}=={PEER_VERSION}",
        ],
        check=True,
        timeout=1800,
    )
    if _installed_version(python) != PEER_VERSION:
        raise RuntimeError(f"{venv} does not hold {PEER_PACKAGE}=={PEER_VERSION} after install")
    return python


def _run_phase(engine: Engine, job: dict[str, Any], timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="headroom-bench-") as tmp:
        job_path = Path(tmp) / "job.json"
        out = Path(tmp) / "out.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        command = [
            engine.python,
            *(["-I"] if engine.isolated else []),
            str(RUNNER),
            str(job_path),
            str(out),
        ]
        try:
            done = subprocess.run(
                command,
                cwd=engine.cwd,
                env=engine.env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"errors": [f"{job['phase']}: timed out after {timeout:.0f} s"]}
        if done.returncode != 0 or not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            return {"errors": [f"{job['phase']}: exit {done.returncode}: " + " | ".join(tail)]}
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return result


def run_phase(
    engine: Engine,
    case_path: Path,
    model: str,
    phase: str,
    points: list[int],
    repeats: int,
    timeout: float,
) -> dict[str, Any]:
    """One phase (``single`` or ``replay``) of one case in a fresh process."""
    job = {
        "case": str(case_path),
        "model": model,
        "phase": phase,
        "points": points,
        "repeats": repeats,
    }
    return _run_phase(engine, job, timeout)


def merge_phases(single: dict[str, Any], replayed: dict[str, Any]) -> dict[str, Any]:
    """The ``single`` phase's output with the replay's ``prefixes`` and errors added."""
    merged = dict(single)
    merged["prefixes"] = replayed.get("prefixes", [])
    merged["errors"] = list(single.get("errors", [])) + list(replayed.get("errors", []))
    return merged
