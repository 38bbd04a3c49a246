"""Every sentence of the bulletin stays true once its numbers are rounded (issue 10, item 26):
a region listed as missing its month target never reads "100%", a region listed as having
met its annual target never reads below 100%, an increase is never written "0万人", a
cumulative count above zero is never written as zero, a bank that has not opened every
account never reads "完成率为100.0%"."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shebao.reports.domain.bulletin import (
    BankFigures,
    BulletinFigures,
    RegionFigures,
    compute_bulletin,
)
from shebao.reports.domain.document import bulletin_document, render_text

pytestmark = pytest.mark.unit

NAMES = ["黄石市", "十堰市", "宜昌市", "襄阳市", "鄂州市", "荆门市", "孝感市", "荆州市"]
# Counts around the places where rounding bites: a few people, just under and over 10,000,
# large cities.
COUNTS = st.one_of(
    st.integers(0, 30),
    st.integers(3_000, 15_000),
    st.integers(90_000, 2_000_000),
)
AMOUNT = r"([\d,]+(?:\.\d+)?)(万)?人"


@st.composite
def regions(draw: st.DrawFn) -> tuple[RegionFigures, ...]:
    out = []
    for i in range(draw(st.integers(1, len(NAMES)))):
        submitted = draw(COUNTS)
        previous = draw(st.one_of(st.none(), st.integers(0, submitted + 5)))
        # Targets near the count: 99.8 % and 100.04 % are where rounding lies.
        near = st.integers(max(1, submitted - submitted // 100), submitted + submitted // 100 + 2)
        annual = draw(st.one_of(st.none(), near, COUNTS.filter(lambda n: n > 0)))
        month = draw(st.one_of(st.none(), near, COUNTS.filter(lambda n: n > 0)))
        out.append(
            RegionFigures(f"4202{i:02d}", NAMES[i], submitted, previous, annual, month, None)
        )
    return tuple(out)


@st.composite
def banks(draw: st.DrawFn) -> tuple[BankFigures, ...]:
    out = []
    for name in draw(st.lists(st.sampled_from(["农业银行", "邮储银行", "农商银行"]), unique=True)):
        received = draw(COUNTS)
        opened = draw(st.integers(max(0, received - received // 200 - 1), received))
        out.append(BankFigures(name, received, opened))
    return tuple(out)


def _count(number: str, wan: str | None) -> Decimal:
    value = Decimal(number.replace(",", ""))
    return value * 10_000 if wan else value


@settings(max_examples=300, deadline=None)
@given(subordinates=regions(), bank_figures=banks())
def test_every_rounded_number_agrees_with_its_sentence(
    subordinates: tuple[RegionFigures, ...], bank_figures: tuple[BankFigures, ...]
) -> None:
    total = sum(r.submitted or 0 for r in subordinates)
    figures = BulletinFigures(
        year=2026,
        month=11,
        region=RegionFigures("420000", "湖北省", total),
        region_level=1,
        subordinate_level=2,
        subordinates=subordinates,
        banks=bank_figures,
    )
    report = compute_bulletin(figures)
    text = render_text(bulletin_document(report))
    by_name = {r.name: r for r in subordinates}

    summary = re.search(r"全省累计上报开户数据" + AMOUNT, text)
    assert summary is not None
    assert (_count(*summary.groups()) > 0) == (total > 0)

    missed = re.search(r"没有完成月数据采集目标任务的市州有(\d+)个：([^。]*)。", text)
    if missed:
        items = re.findall(r"(\w+?)只完成了([\d.]+)%", missed.group(2))
        assert len(items) == int(missed.group(1)) == len(report.missed_month)
        for name, shown in items:
            r = by_name[name]
            assert r.month_target and (r.submitted or 0) < r.month_target
            assert Decimal(shown) < 100, (name, shown, r)

    met = re.search(r"完成全年数据采集目标任务的市州有(\d+)个：([^。]*)。", text)
    if met:
        pattern = r"(\w+?)（完成全年目标的([\d.]+)%，已提交数据" + AMOUNT + "）"
        items = re.findall(pattern, met.group(2))
        assert len(items) == int(met.group(1))
        for name, shown, number, wan in items:
            r = by_name[name]
            assert Decimal(shown) >= 100
            assert _count(number, wan) > 0 or r.submitted == 0

    grown = re.search(r"月度新增数据量较多的市州有：([^。]*)。", text)
    if grown:
        for name, number, wan in re.findall(r"(\w+?)较10月份增加数据" + AMOUNT, grown.group(1)):
            r = by_name[name]
            increase = (r.submitted or 0) - (r.previous or 0)
            assert increase > 0
            assert _count(number, wan) > 0, (name, increase)
            if not wan:
                assert _count(number, wan) == increase  # below 10,000: exact

    for bank in bank_figures:
        rate = re.search(re.escape(bank.name) + r"[^；。]*完成率为([\d.]+)%", text)
        if rate and (bank.opened or 0) < (bank.received or 0):
            assert Decimal(rate.group(1)) < 100, bank


def test_the_examples_of_the_issue() -> None:
    almost = RegionFigures(
        "420201", "黄石市", 998, previous=995, annual_target=None, month_target=1_000
    )
    small = RegionFigures("420202", "十堰市", 13_500, previous=10_000, month_target=10_000)
    figures = BulletinFigures(
        year=2026,
        month=11,
        region=RegionFigures("420000", "湖北省", 14_498),
        region_level=1,
        subordinate_level=2,
        subordinates=(almost, small),
        banks=(),
    )
    text = render_text(bulletin_document(compute_bulletin(figures)))
    assert "黄石市只完成了99.8%" in text
    assert "十堰市较10月份增加数据3,500人" in text
    assert "0万人" not in text
