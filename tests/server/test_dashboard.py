"""/dashboard: self-contained, and showing in a real headless browser what /stats reports."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import httpx
import pytest

from headroom.server import ServerSettings, create_app
from headroom.server.dashboard import DASHBOARD_HTML
from tests.conftest import case
from tests.server.billing_upstream import BillingUpstream
from tests.server.support import serve

#: Debian's package; CI installs it (.ci/run), so there a missing browser is a failure.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def upstream() -> Iterator[str]:
    with serve(BillingUpstream().app()) as url:
        yield url


def test_page_fetches_nothing_from_elsewhere() -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", DASHBOARD_HTML)
    assert "@import" not in DASHBOARD_HTML and "url(" not in DASHBOARD_HTML
    assert re.findall(r"fetch\(([^,)]*)", DASHBOARD_HTML) == ['"/stats"']


def _render(url: str) -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run must apt-get install chromium")
        pytest.skip("chromium not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=3000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _text(dom: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', dom)
    assert found, f"#{element_id} missing from the rendered page"
    return found.group(1)


def test_dashboard_shows_what_stats_reports(upstream: str) -> None:
    settings = ServerSettings(upstream_openai=upstream + "/v1", api_keys=("team-key",))
    headers = {"x-headroom-api-key": "team-key"}
    with serve(create_app(settings)) as base:
        for data in (case("p-logs-openssh"), case("p-json-comments-email")):
            r = httpx.post(
                base + "/v1/chat/completions",
                json={"model": "gpt-4o", "messages": data["messages"]},
                headers=headers,
                timeout=60,
            )
            assert r.status_code == 200
        stats = httpx.get(base + "/stats", headers=headers).json()
        dom = _render(base + "/dashboard#key=team-key")
        locked = _render(base + "/dashboard")
    assert 'data-loaded="true"' in dom
    assert _text(dom, "requests") == f"{stats['requests']['proxy']:,}" == "2"
    assert _text(dom, "tokens-saved") == f"{stats['tokens']['saved']:,}"
    assert _text(dom, "cost") == f"${stats['cost']['total_cost_usd']:.4f}"
    assert _text(dom, "savings-usd") == f"${stats['cost']['total_savings_usd']:.4f}"
    assert dom.count("<td>gpt-4o</td>") >= 3  # the per-model row and two recent requests
    assert "401" in _text(locked, "error")
