"""A work-plan task typed as a formula (a DDE payload) is exported as text, not as a live
formula (issue #10, item 30)."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook

from shebao.accounts.choices import Role
from shebao.accounts.models import Organisation
from shebao.reports.domain.work_plan import WORK_PLAN_COLUMNS
from shebao.reports.models import WorkPlan
from tests.factories import make_user
from tests.integration.reports.test_pages_work_plan import area, client_for, upload

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

__all__ = ["area"]  # the fixture, used by name

DDE = "=cmd|' /C calc'!A0"


def test_work_plan_export_writes_formulas_as_text(area: dict[str, Organisation]) -> None:
    clerk = make_user(Role.DISTRICT_CLERK, area["office"])
    client = client_for(clerk)
    # Typed in a CSV file, as a clerk (or an attacker) would.
    rows = [
        WORK_PLAN_COLUMNS,
        ("1", "制订方案", DDE, "鄂城区社保卡管理办公室", "鄂城区委编办", "2026年7月8日", "+1", ""),
        ("2", "@SUM(A1)", "-2+3", "鄂城区社保卡管理办公室", "", "2026年8月8日", "", ""),
    ]  # fmt: skip
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    response = upload(client, buffer.getvalue().encode(), name="plan.csv")
    assert response.status_code == 302, response.content.decode()[-2000:]
    plan = WorkPlan.objects.get()
    response = client.get(f"/reports/work-plan/{plan.pk}/export.xlsx")
    content = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    texts = {c.value: c.data_type for row in sheet.iter_rows(min_row=2) for c in row}
    for typed in (DDE, "+1", "@SUM(A1)", "-2+3"):
        assert texts[typed] == "s", typed
