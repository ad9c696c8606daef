"""Headroom over HTTP: the compression service, the LLM proxy, and their operations.

    from headroom.server import create_app, ServerSettings
    app = create_app(ServerSettings(store="redis://localhost:6379/0"))

or from a shell: ``headroom proxy --port 8787``. Needs ``pip install 'headroom[server]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headroom.server.settings import ServerSettings

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from headroom.core.store import CCRStore

__all__ = ["ServerSettings", "create_app"]


def create_app(
    settings: ServerSettings | None = None, *, store: CCRStore | None = None
) -> Starlette:
    """Build the ASGI app (see `headroom.server.app.create_app`); imports the web stack lazily."""
    from headroom.server.app import create_app as _create_app

    return _create_app(settings, store=store)
