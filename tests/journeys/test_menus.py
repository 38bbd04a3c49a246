"""Every menu page of every demo account opens, on the real server, without an error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.journeys.conftest import Demo

ACCOUNTS = [
    "leader",
    "centre",
    "district",
    "town",
    "village",
    "dept",
    "employer",
    "bank",
    "surveyor",
    "auditor",
    "admin",
    "payer",
    "checker",
    "partner",
]


@pytest.mark.parametrize("username", ACCOUNTS)
def test_every_menu_page_opens(
    username: str, login: Callable[[str], Any], demo: Demo, shot: Callable[[Any, str], Any]
) -> None:
    page = login(username)
    links = page.eval_on_selector_all(
        "nav.sidenav a[href]",
        "links => links.map(a => [a.textContent.trim(), a.getAttribute('href')])",
    )
    assert links, f"{username} has no menu"
    failures = []
    for label, href in links:
        response = page.goto(href)
        assert response is not None
        if response.status != 200:
            failures.append(f"{label} {href}: HTTP {response.status}")
            continue
        if href.startswith("/api/"):
            # The API documentation is Swagger UI, drawn by its script from the schema.
            title = page.locator(".swagger-ui .info .title")
            title.wait_for(timeout=15_000)
            if "shebao" not in title.inner_text():
                failures.append(f"{label} {href}: API documentation not drawn")
            continue
        heading = page.locator("h1").first
        if heading.count() == 0 or not heading.inner_text().strip():
            failures.append(f"{label} {href}: no page heading")
    shot(page, f"menu-{username}-last")
    assert not failures, f"{username}: " + "; ".join(failures)
