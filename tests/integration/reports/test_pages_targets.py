"""The target page: a clerk types a year's targets for the region, its subordinates and its
banks; bad cells are shown and nothing is saved; leaders only read; other areas are refused."""

from __future__ import annotations

import pytest

from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent
from shebao.reports.models import Target
from tests.integration.reports.test_pages import client_for, district_clerk, leader, make_ezhou

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def ezhou_regions(db: None) -> None:
    make_ezhou()


def _post(client, **cells: str):  # type: ignore[no-untyped-def]
    data = {"region": "420704", "year": "2026", "metric": "submitted", **cells}
    return client.post("/reports/targets/", data)


def test_a_district_clerk_enters_targets_for_the_district_its_towns_and_a_bank(
    ezhou_regions: None,
) -> None:
    clerk = district_clerk("420704")
    client = client_for(clerk)
    page = client.get("/reports/targets/", {"year": "2026", "metric": "submitted"})
    assert page.status_code == 200
    html = page.content.decode()
    # The district and its three 街道 are rows of the grid.
    for name in ("鄂城区", "凤凰街道", "古楼街道", "西山街道"):
        assert name in html

    response = _post(
        client,
        **{
            "cell|420704||0": "120000",
            "cell|420704||6": "60000",
            "cell|420704||7": "70,000",
            "cell|420704001||0": "50000",
            "new_bank": "农业 银行",
            "new|0": "40000",
        },
    )
    # The district's annual target differs from its towns' roll-up (50,000): nothing is
    # saved until the clerk confirms the district's own figure.
    assert response.status_code == 409
    assert "鄂城区年度目标120,000与其1个下级地区的目标合计50,000不一致" in response.content.decode()
    assert not Target.objects.exists()
    response = _post(
        client,
        **{
            "cell|420704||0": "120000",
            "cell|420704||6": "60000",
            "cell|420704||7": "70,000",
            "cell|420704001||0": "50000",
            "new_bank": "农业 银行",
            "new|0": "40000",
            "confirm_rollup": "1",
        },
    )
    assert response.status_code == 302
    stored = {
        (t.region_id, t.bank, t.month): t.value
        for t in Target.objects.filter(year=2026, metric="submitted")
    }
    assert stored == {
        ("420704", "", None): 120_000,
        ("420704", "", 6): 60_000,
        ("420704", "", 7): 70_000,
        ("420704001", "", None): 50_000,
        ("420704", "农业银行", None): 40_000,
    }
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, target_type="reports.Target", user=clerk
    ).exists()
    # The bank now has its own row; clearing a cell removes that target.
    html = client.get("/reports/targets/", {"year": "2026"}).content.decode()
    assert "农业银行" in html
    response = _post(client, **{"cell|420704||6": "", "cell|420704||7": "70000"})
    assert response.status_code == 302
    assert not Target.objects.filter(region_id="420704", month=6).exists()
    assert Target.objects.get(region_id="420704", month=7).value == 70_000


def test_bad_cells_are_listed_and_nothing_is_saved(ezhou_regions: None) -> None:
    client = client_for(district_clerk("420704"))
    response = _post(
        client,
        **{
            "cell|420704||0": "120000",
            "cell|420704||5": "-3",
            "cell|420704||8": "80000",
            "cell|420704||9": "79000",
            "cell|420704001||0": "五万",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "目标值有 3 处错误，未保存任何数据" in html
    assert "VALUE_NEGATIVE" in html and "VALUE_NOT_INTEGER" in html
    assert "9月目标79000小于8月目标80000" in html
    # What the clerk typed stays in the form for correction.
    assert 'value="五万"' in html
    assert not Target.objects.exists()


def test_leaders_read_targets_but_cannot_save_them(ezhou_regions: None) -> None:
    Target.objects.create(year=2026, month=None, region_id="420704", metric="submitted", value=9)
    client = client_for(leader("420700"))
    html = client.get("/reports/targets/", {"region": "420704", "year": "2026"}).content.decode()
    assert 'value="9"' in html and "readonly" in html and "保存目标" not in html
    response = _post(client, **{"cell|420704||0": "10"})
    assert response.status_code == 403
    assert Target.objects.get().value == 9


def test_a_clerk_cannot_set_targets_outside_the_district(ezhou_regions: None) -> None:
    client = client_for(district_clerk("420704"))
    response = client.post(
        "/reports/targets/",
        {"region": "420704", "year": "2026", "metric": "submitted", "cell|420702||0": "1"},
    )
    assert response.status_code == 403
    assert not Target.objects.exists()
    response = client.get("/reports/targets/", {"region": "420702"})
    assert response.status_code == 403
