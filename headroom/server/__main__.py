"""``python -m headroom.server ...`` is ``headroom proxy ...``."""

from __future__ import annotations

import sys

from headroom.server.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
