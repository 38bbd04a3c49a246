"""Report figures against the real server (issue #10, items 25–28).

The leader opens the dashboard for the current month: the city total is a real reported
total (not a partial live count) and every figure names its source; the leader then
produces the current month's bulletin in each format and its sentences stay true (no
"0万人", no region short of its target at "100%", an issuing body and date at the end). The
card centre corrects a published bulletin: a new version, the old one kept and marked
superseded. A district clerk's month target above the year's is refused.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from docx import Document
from openpyxl import load_workbook

from tests.journeys.conftest import Demo

AMOUNT = re.compile(r"全市累计上报开户数据([\d,]+(?:\.\d+)?)(万)?人")


def _today() -> date:
    """Today where the server counts months (the site's time zone)."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _month() -> str:
    today = _today()
    return f"{today.year:04d}-{today.month:02d}"


def _check_sentences(text: str) -> None:
    """The claims a bulletin makes agree with the numbers it writes."""
    assert "0万人" not in re.sub(r"\d0万人", "", text), text  # "10万人" is fine, "0万人" is not
    total = AMOUNT.search(text)
    assert total is not None, text
    count = float(total.group(1).replace(",", "")) * (10_000 if total.group(2) else 1)
    assert count >= 100_000, f"the city total is a partial count: {total.group(0)}"
    for shown in re.findall(r"只完成了([\d.]+)%", text):
        assert float(shown) < 100, text
    for shown in re.findall(r"完成全年目标的([\d.]+)%", text):
        assert float(shown) >= 100, text


def test_the_leader_reads_the_current_month_with_sources_and_true_sentences(
    demo: Demo, login: Callable[[str], Any], shot: Callable[[Any, str], Path]
) -> None:
    page = login("leader")
    month = _month()
    page.goto(f"/reports/dashboard/?month={month}")
    page.locator("h1#region-heading").wait_for()
    kpi = page.locator('.kpi[data-metric="submitted"]')
    value = kpi.locator(".kpi-value").inner_text()
    # A reported total of the city, in 万 — not the handful of openings counted live.
    assert "万" in value, value
    source = kpi.locator('[data-testid="kpi-source"]').inner_text()
    assert source.startswith("来源：上报"), source
    sources = page.locator('[data-testid="region-source"]').all_inner_texts()
    assert sources and all(s.strip() for s in sources), sources
    body = page.locator("main").inner_text()
    assert "+-" not in body and "+−" not in body
    shot(page, "reports-dashboard-current-month")

    page.goto(f"/reports/bulletin/?month={month}")
    paragraphs = page.locator('[data-testid="bulletin-paragraph"]').all_inner_texts()
    assert paragraphs, "no bulletin for the current month"
    _check_sentences("\n".join(paragraphs))
    signature = page.locator('[data-testid="bulletin-signature"]').all_inner_texts()
    today = _today()
    assert len(signature) == 2 and signature[1] == f"{today.year}年{today.month}月{today.day}日"
    shot(page, "reports-bulletin-current-month")

    for label in ("下载Excel 表格", "下载Word 文档", "下载PDF 文档"):
        with page.expect_download() as download_info:
            page.get_by_role("button", name=label).click()
        download = download_info.value
        path = Path(download.path())
        data = path.read_bytes()
        if label.endswith("Excel 表格"):
            book = load_workbook(io.BytesIO(data))
            text = "\n".join(
                str(row[0]) for row in book["通报正文"].iter_rows(values_only=True) if row[0]
            )
            _check_sentences(text)
            assert signature[0] in text
        elif label.endswith("Word 文档"):
            texts = [p.text for p in Document(io.BytesIO(data)).paragraphs]
            _check_sentences("\n".join(texts))
            assert signature[0] in texts and signature[1] in texts
        else:
            assert data.startswith(b"%PDF"), data[:20]
    page.goto(f"/reports/bulletin/?month={month}")
    rows = page.locator('[data-testid="bulletin-row"]')
    assert rows.filter(has_text=f"{today.year}年{today.month}月").count() >= 3
    shot(page, "reports-bulletins-published")


def test_the_card_centre_corrects_a_published_bulletin(
    demo: Demo, login: Callable[[str], Any], shot: Callable[[Any, str], Path]
) -> None:
    month = _month()
    today = _today()
    leader = login("leader")
    leader.goto(f"/reports/bulletin/?month={month}")
    with leader.expect_download():
        leader.get_by_role("button", name="下载Word 文档").click()
    # The leader reads bulletins but is offered no correction.
    assert leader.locator('[data-testid="bulletin-correct"]').count() == 0

    page = login("centre")
    page.goto(f"/reports/bulletin/?month={month}")
    current = (
        page.locator('[data-testid="bulletin-row"][data-current="yes"]')
        .filter(has_text=f"{today.year}年{today.month}月")
        .filter(has_text="Word 文档")
    )
    assert current.count() == 1
    version = int(current.get_attribute("data-version") or "0")
    reason = f"旅程测试：{month}数据已重新核对"
    current.locator('input[name="reason"]').fill(reason)
    current.get_by_role("button", name="按当前数据更正").click()
    page.locator(".alert, .messages").first.wait_for()
    assert f"第{version + 1}版" in page.locator("main").inner_text()
    rows = (
        page.locator('[data-testid="bulletin-row"]')
        .filter(has_text=f"{today.year}年{today.month}月")
        .filter(has_text="Word 文档")
    )
    old = rows.and_(page.locator(f'[data-version="{version}"]'))
    new = rows.and_(page.locator(f'[data-version="{version + 1}"]'))
    assert old.get_attribute("data-current") == "no"
    assert f"已被第{version + 1}版更正" in old.inner_text()
    assert new.get_attribute("data-current") == "yes"
    assert f"更正原因：{reason}" in new.inner_text()
    shot(page, "reports-bulletin-corrected")
    # The old version stays downloadable as it was published.
    with page.expect_download() as old_download:
        old.get_by_role("link", name="下载").click()
    assert Path(old_download.value.path()).stat().st_size > 0


def test_a_district_month_target_above_the_annual_one_is_refused(
    demo: Demo, login: Callable[[str], Any], shot: Callable[[Any, str], Path]
) -> None:
    page = login("district")
    year = _today().year + 1  # a year nobody has targets for yet
    page.goto(f"/reports/targets/?year={year}&metric=submitted")
    first = page.locator('[data-testid="target-grid"] tbody tr').first
    annual = first.locator('input[name$="|0"]').first
    name = annual.get_attribute("name") or ""
    code = name.split("|")[1]
    annual.fill("1000")
    first.locator(f'input[name="cell|{code}||6"]').fill("2000")
    page.get_by_role("button", name="保存目标").click()
    errors = page.locator('[data-testid="target-errors"]')
    errors.wait_for()
    assert "6月目标2000大于年度目标1000" in errors.inner_text()
    shot(page, "reports-target-above-annual")
    page.goto(f"/reports/targets/?year={year}&metric=submitted")
    assert page.locator(f'input[name="cell|{code}||0"]').input_value() == ""
