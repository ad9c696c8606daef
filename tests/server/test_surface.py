"""The public surface of the server, stores and middleware modules."""

from __future__ import annotations

import importlib
import pkgutil

import headroom.server
import headroom.stores


def test_public_names() -> None:
    assert headroom.server.__all__ == ["ServerSettings", "create_app"]
    assert headroom.stores.__all__ == ["DEFAULT_TTL_SECONDS", "SQLiteStore", "open_store"]
    asgi = importlib.import_module("headroom.integrations.asgi")
    assert asgi.__all__ == ["COMPRESSED_HEADER", "TOKENS_SAVED_HEADER", "CompressionMiddleware"]
    assert importlib.import_module("headroom.server.cli").__all__ == [
        "build_parser",
        "run_proxy",
        "settings_from_args",
    ]


def test_every_module_declares_all_and_exports_what_it_names() -> None:
    for package in (headroom.server, headroom.stores):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            assert isinstance(module.__all__, list), module.__name__
            for name in module.__all__:
                assert hasattr(module, name), f"{module.__name__}.{name}"


def test_importing_the_middleware_needs_no_web_framework() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import headroom.integrations.asgi\n"
        "bad = [m for m in ('starlette', 'fastapi', 'uvicorn', 'httpx') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
