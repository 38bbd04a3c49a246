"""The coverage page names schemes, not their codes, and says which comparison its figures
reflect (issue #10, item 27)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shebao.registration.models import ComparisonRun
from shebao.registry.models import Scheme
from tests.integration.registration.test_pages import client_for
from tests.integration.registration.world import RegWorld, build_world, run_comparison_now

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def world(tmp_path: Path) -> RegWorld:
    w = build_world(tmp_path)
    run_comparison_now(w)
    return w


def test_coverage_names_schemes_and_its_comparison(world: RegWorld) -> None:
    page = client_for(world.centre).get("/registration/coverage/?region=420704001")
    html = page.content.decode()
    run = ComparisonRun.objects.get()
    assert f"依据第{run.pk}次比对（比对基准日期{run.as_of:%Y-%m-%d}" in html
    columns = html.split('data-testid="coverage-table"')[1].split("</thead>")[0]
    for scheme in Scheme.objects.filter(code__in=["170", "390"]):
        assert f'title="{scheme.code}">{scheme.name}</th>' in columns
