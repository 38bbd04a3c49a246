"""Shared test setup.

PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/shebao; pytest-django creates
and drops its own test database. Chromium: the e2e tests need /usr/bin/chromium. With
CI=true a missing PostgreSQL (when asked for) or Chromium is a failure, not a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip locally with a visible reason; fail in CI, where everything must be present."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI requires it: {reason}", pytrace=False)
    pytest.skip(reason)


def postgres_only(reason: str) -> None:
    """Skip a test that needs PostgreSQL itself (row locks, concurrent transactions) when the
    suite runs on SQLite. Not a hidden failure: `.ci/run` runs the whole suite on PostgreSQL
    as well, where these tests run (and a missing PostgreSQL fails the run)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    # PBKDF2 at production strength costs ~0.3 s per user; tests create hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_report_header(config):  # type: ignore[no-untyped-def]
    url = os.environ.get("DATABASE_URL", "")
    db = "PostgreSQL" if url.startswith("postgres") else "SQLite (set DATABASE_URL for PostgreSQL)"
    return [f"shebao database: {db}; CI={IN_CI}"]


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session. Playwright's sync API allows one instance per
    thread, so the e2e tests and the journeys share this one."""
    require(CHROMIUM.exists(), f"Chromium not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
