"""Browser fixtures for the end-to-end tests: a real Chromium driven by Playwright against
pytest-django's live server.

Playwright's sync API runs an asyncio loop in the test thread, which makes Django refuse
database calls from it ("SynchronousOnlyOperation") unless DJANGO_ALLOW_ASYNC_UNSAFE is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def e2e_db(transactional_db: None) -> None:
    """Committed data the live server can see. (`shebao flush`, which ends each
    transactional test, lifts the audit log's append-only triggers for the wipe.)"""


@pytest.fixture
def browser_page(chromium: Any, live_server: Any, e2e_db: None) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the live server, Chinese locale, laptop size."""
    context = chromium.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 1366, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
