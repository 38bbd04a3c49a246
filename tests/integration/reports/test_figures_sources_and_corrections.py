"""Issue 10, items 25–28: a partial live count never replaces a reported total and every
figure names its source; 完成开户 has one definition; a past month's bank table is that
month's; a published bulletin can be corrected (new version, old one kept and superseded,
audited) and ends with its issuing body and date; targets refuse a month above the year and
ask before a region's own target replaces its subordinates' roll-up."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from docx import Document
from openpyxl import load_workbook

from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.models import AuditEvent, User
from shebao.reports.domain.metrics import Metric
from shebao.reports.models import Bulletin, LiveFigure, ReportedFigure, Target
from shebao.reports.selectors import dashboard_data
from shebao.reports.services import reports_demo_seed
from shebao.reports.templatetags.reports_format import signed_count
from tests.factories import make_org, make_user
from tests.integration.reports.test_pages import (
    client_for,
    district_clerk,
    leader,
    make_ezhou,
    text_of,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def seeded(db: None) -> None:
    """鄂州's demo targets and figures, reported through October 2026."""
    make_ezhou()
    reports_demo_seed(year=2026, through_month=10)


def centre_operator() -> User:
    return make_user(
        Role.CARD_CENTRE_OPERATOR,
        make_org(OrganisationKind.CARD_CENTRE, "420700", name="鄂州市社会保障卡管理中心"),
    )


def _reported_total(year: int, month: int, metric: str = "submitted") -> int:
    return sum(
        ReportedFigure.objects.filter(year=year, month=month, metric=metric, bank="")
        .exclude(region_id__in=["420700", "420702", "420703", "420704"])
        .values_list("value", flat=True)
    )


@pytest.fixture
def partial_live(seeded: None) -> None:
    """The districts reported through October; the system went live in October and has
    counted 19 account-data submissions in the city since (the demo's situation)."""
    from shebao.geo.models import Region

    assert Region.objects.filter(code="420700").exists()
    for month in (10, 11):
        for code in ("420700", "420704", "420704001"):
            LiveFigure.objects.create(
                year=2026, month=month, region_id=code, metric="submitted", value=19
            )


def test_a_partial_live_count_never_replaces_the_reported_city_total(
    partial_live: None,
) -> None:
    from shebao.geo.models import Region

    city = Region.objects.get(code="420700")
    october = dashboard_data(region=city, year=2026, month=10)
    submitted = next(m for m in october.metrics if m.metric is Metric.SUBMITTED)
    assert submitted.value == _reported_total(2026, 10) > 100_000
    assert submitted.source == "上报"
    # November: nothing reported yet, 19 counted live: the October reports carry forward.
    november = dashboard_data(region=city, year=2026, month=11)
    submitted = next(m for m in november.metrics if m.metric is Metric.SUBMITTED)
    assert submitted.value == _reported_total(2026, 10)
    assert submitted.source == "上报（截至10月）"
    assert submitted.increase == 0
    assert {r.source for r in november.subordinates} == {"上报（截至10月）"}


def test_the_dashboard_labels_sources_and_signs_changes(partial_live: None) -> None:
    client = client_for(leader("420700"))
    html = text_of(client.get("/reports/dashboard/", {"month": "2026-11"}))
    assert "来源：上报（截至10月）" in html
    assert "+-" not in html and "+−" not in html
    october = text_of(client.get("/reports/dashboard/", {"month": "2026-10"}))
    assert 'data-testid="region-source">上报<' in october
    assert "较上月 +" in october  # October grew over September
    bulletin = text_of(client.get("/reports/bulletin/", {"month": "2026-11"}))
    origins = bulletin.split('data-testid="figure-origins"')[1].split("</table>")[0]
    assert "<td>鄂城区</td><td>上报（截至10月）</td>" in origins
    assert signed_count(-865_005) == "\u2212865,005"
    assert signed_count(1_234) == "+1,234" and signed_count(0) == "0"


def test_account_openings_have_one_definition_on_every_sheet(seeded: None) -> None:
    from shebao.geo.models import Region

    data = dashboard_data(region=Region.objects.get(code="420700"), year=2026, month=10)
    opened = next(m for m in data.metrics if m.metric is Metric.OPENED)
    received = next(m for m in data.metrics if m.metric is Metric.RECEIVED)
    assert opened.value == sum(b.opened or 0 for b in data.banks)
    assert received.value == sum(b.received or 0 for b in data.banks)
    response = client_for(leader("420700")).get(
        "/reports/dashboard/export.xlsx", {"month": "2026-10"}
    )
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
    summary = {row[0]: row[2] for row in book["指标汇总"].iter_rows(min_row=3, values_only=True)}
    banks = list(book["合作银行"].iter_rows(min_row=3, values_only=True))
    assert summary["完成开户"] == sum(row[2] for row in banks)
    assert summary["接收开户数据"] == sum(row[1] for row in banks)


def test_a_past_months_bank_table_is_that_months(seeded: None) -> None:
    html = text_of(client_for(leader("420700")).get("/reports/dashboard/", {"month": "2026-09"}))
    assert "合作银行开户情况（2026年9月底）" in html
    assert 'data-testid="month-bank-table"' in html
    assert "截至今日" not in html


def test_the_bulletin_ends_with_its_issuing_body_and_date(seeded: None) -> None:
    centre_operator()
    client = client_for(leader("420700"))
    html = text_of(client.get("/reports/bulletin/", {"month": "2026-10"}))
    assert 'data-testid="bulletin-signature">鄂州市社会保障卡管理中心<' in html
    response = client.post(
        "/reports/bulletin/produce/", {"region": "420700", "month": "2026-10", "format": "docx"}
    )
    doc = Document(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
    texts = [p.text for p in doc.paragraphs]
    bulletin = Bulletin.objects.get()
    day = bulletin.generated_at.astimezone().date()
    assert "鄂州市社会保障卡管理中心" in texts
    assert f"{day.year}年{day.month}月{day.day}日" in texts
    assert bulletin.issuer == "鄂州市社会保障卡管理中心"
    assert str(bulletin) == "鄂州市2026年10月进度通报（Word 文档，第1版）"


def test_a_published_bulletin_is_corrected_as_a_new_version(seeded: None) -> None:
    client = client_for(leader("420700"))
    client.post(
        "/reports/bulletin/produce/", {"region": "420700", "month": "2026-10", "format": "xlsx"}
    )
    wrong = Bulletin.objects.get()
    # A district's October figure was wrong; the file is imported again.
    ReportedFigure.objects.filter(
        year=2026, month=10, region_id="420704001", metric="submitted", bank=""
    ).update(value=1)
    # A leader reads bulletins but does not correct them.
    refused = client.post(f"/reports/bulletin/{wrong.pk}/correct/", {"reason": "数据有误"})
    assert refused.status_code == 403
    operator = client_for(centre_operator())
    no_reason = operator.post(f"/reports/bulletin/{wrong.pk}/correct/", {"reason": " "})
    assert no_reason.status_code == 302 and Bulletin.objects.count() == 1

    response = operator.post(
        f"/reports/bulletin/{wrong.pk}/correct/", {"reason": "凤凰街道10月数据有误，已重新导入"}
    )
    assert response.status_code == 302
    corrected = Bulletin.objects.exclude(pk=wrong.pk).get()
    wrong.refresh_from_db()
    assert (wrong.superseded_by, wrong.version, corrected.version) == (corrected, 1, 2)
    assert corrected.correction_reason == "凤凰街道10月数据有误，已重新导入"
    assert corrected.figures_sha256 != wrong.figures_sha256
    assert "第2版" in corrected.text and "更正" in corrected.text
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, target_id=str(corrected.pk))
    assert event.detail["reason"] == "凤凰街道10月数据有误，已重新导入"
    assert event.detail["supersedes"] == [wrong.pk]
    page = text_of(operator.get("/reports/bulletin/", {"region": "420700", "month": "2026-10"}))
    assert "已被第2版更正" in page and "更正原因：凤凰街道10月数据有误" in page
    # The old version stays downloadable, as published.
    assert operator.get(f"/reports/bulletin/{wrong.pk}/download/").status_code == 200
    again = operator.post(f"/reports/bulletin/{wrong.pk}/correct/", {"reason": "再次更正"})
    assert again.status_code == 302 and Bulletin.objects.count() == 2


def test_a_month_target_above_the_annual_one_is_refused(seeded: None) -> None:
    client = client_for(district_clerk("420704"))
    response = client.post(
        "/reports/targets/",
        {
            "region": "420704",
            "year": "2027",
            "metric": "submitted",
            "cell|420704||0": "1000",
            "cell|420704||6": "1200",
        },
    )
    assert response.status_code == 400
    assert "6月目标1200大于年度目标1000" in text_of(response)
    assert not Target.objects.filter(year=2027).exists()


def test_a_region_target_that_differs_from_its_roll_up_needs_confirmation(seeded: None) -> None:
    client = client_for(district_clerk("420704"))
    page = text_of(client.get("/reports/targets/", {"year": "2026", "metric": "submitted"}))
    assert 'data-testid="rollup-row"' in page  # the towns' roll-up beside the district's
    towns = sum(
        Target.objects.filter(
            year=2026, month__isnull=True, metric="submitted", region__parent_id="420704"
        ).values_list("value", flat=True)
    )
    data = {"region": "420704", "year": "2026", "metric": "submitted", "cell|420704||0": "5"}
    response = client.post("/reports/targets/", data)
    assert response.status_code == 409
    assert f"鄂城区年度目标5与其3个下级地区的目标合计{towns:,}不一致" in text_of(response)
    assert not Target.objects.filter(region_id="420704").exists()
    assert client.post("/reports/targets/", {**data, "confirm_rollup": "1"}).status_code == 302
    assert Target.objects.get(region_id="420704", month__isnull=True).value == 5
    event = AuditEvent.objects.filter(target_type="reports.Target").latest("id")
    assert event.detail["rollup_overridden"][0]["rollup"] == towns


def test_percentages_never_read_complete_when_incomplete() -> None:
    from shebao.reports.domain.numbers import percent

    assert percent(998, 1_000, 0) == Decimal(99)
