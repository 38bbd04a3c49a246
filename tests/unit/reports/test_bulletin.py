"""The bulletin's lists, orderings and sentences, computed from figures without a database."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from shebao.reports.domain.bulletin import (
    BankFigures,
    BulletinFigures,
    RegionFigures,
    compute_bulletin,
)
from shebao.reports.domain.document import bulletin_document, render_text

pytestmark = pytest.mark.unit


def region(
    code: str,
    name: str,
    submitted: int | None,
    *,
    previous: int | None = None,
    annual: int | None = None,
    month: int | None = None,
    produced: int | None = None,
) -> RegionFigures:
    return RegionFigures(code, name, submitted, previous, annual, month, produced)


def figures(
    *subordinates: RegionFigures,
    banks: tuple[BankFigures, ...] = (),
    year: int = 2014,
    month: int = 7,
) -> BulletinFigures:
    def total(attr: str) -> int | None:
        values = [getattr(r, attr) for r in subordinates if getattr(r, attr) is not None]
        return sum(values) if values else None

    return BulletinFigures(
        year=year,
        month=month,
        region=RegionFigures(
            "430000",
            "湖南省",
            total("submitted"),
            total("previous"),
            total("annual_target"),
            total("month_target"),
            total("produced"),
        ),
        region_level=1,
        subordinate_level=2,
        subordinates=subordinates,
        banks=banks,
    )


def text_of(f: BulletinFigures) -> str:
    return render_text(bulletin_document(compute_bulletin(f)))


def test_met_annual_means_cumulative_at_least_the_target() -> None:
    report = compute_bulletin(
        figures(
            region("430300", "湘潭市", 1_000_000, annual=1_000_000),
            region("430600", "岳阳市", 999_999, annual=1_000_000),
        )
    )
    assert [ln.code for ln in report.met_annual] == ["430300"]


def test_missed_month_means_cumulative_below_the_month_target() -> None:
    report = compute_bulletin(
        figures(
            region("430100", "长沙市", 970_000, month=2_940_000),
            region("430200", "株洲市", 1_305_000, month=1_305_000),
            region("430400", "衡阳市", 0, month=1_500_000),
            region("430500", "邵阳市", 5, month=None),
        )
    )
    # Least complete first.
    assert [ln.code for ln in report.missed_month] == ["430400", "430100"]


def test_met_list_orders_by_exact_completion_not_by_code_or_rounded_percent() -> None:
    report = compute_bulletin(
        figures(
            # Both read 108%: the exact ratio decides (邵阳 107.93% after 株洲 108.00%)…
            region("430500", "邵阳市", 2_110_000, annual=1_955_000),
            region("430200", "株洲市", 1_620_000, annual=1_500_000),
            # …and an exact tie falls back to the region code.
            region("431200", "怀化市", 1_070_000, annual=1_000_000),
            region("430900", "益阳市", 2_140_000, annual=2_000_000),
        )
    )
    assert [ln.code for ln in report.met_annual] == ["430200", "430500", "430900", "431200"]


def test_top_four_increases_with_ties_by_code() -> None:
    report = compute_bulletin(
        figures(
            region("430100", "长沙市", 50, previous=10),  # +40
            region("430200", "株洲市", 30, previous=0),  # +30
            region("430300", "湘潭市", 40, previous=10),  # +30
            region("430400", "衡阳市", 90, previous=0),  # +90
            region("430500", "邵阳市", 30, previous=10),  # +20, fifth
            region("430600", "岳阳市", 10, previous=10),  # no increase
            region("430700", "常德市", 500, previous=None),  # unknown increase
        )
    )
    assert [(ln.code, ln.increase) for ln in report.top_increases] == [
        ("430400", 90),
        ("430100", 40),
        ("430200", 30),
        ("430300", 30),
    ]


def test_banks_in_customary_order_with_rates_to_one_decimal() -> None:
    report = compute_bulletin(
        figures(
            region("430100", "长沙市", 1),
            banks=(
                BankFigures("农信社联社", 8_170_000, 6_970_000),
                BankFigures("邮储银行", 2_860_000, 2_340_000),
                BankFigures("农业银行", 5_980_000, 5_110_000),
                BankFigures("工商银行", 0, 0),
            ),
        )
    )
    assert [(b.name, b.rate(1)) for b in report.banks] == [
        ("工商银行", None),
        ("农业银行", Decimal("85.5")),
        ("邮储银行", Decimal("81.8")),
        ("农信社联社", Decimal("85.3")),
    ]


def test_the_sentences_follow_the_seed() -> None:
    text = text_of(
        figures(
            region(
                "431100",
                "永州市",
                3_250_000,
                previous=3_100_000,
                annual=2_006_000,
                month=1_746_000,
                produced=2_046_000,
            ),
            region(
                "433100",
                "湘西土家族苗族自治州",
                580_000,
                previous=560_000,
                annual=500_000,
                month=436_000,
                produced=364_000,
            ),
            region(
                "430100",
                "长沙市",
                970_000,
                previous=800_000,
                annual=3_204_000,
                month=2_940_000,
                produced=611_000,
            ),
            banks=(BankFigures("农业银行", 5_980_000, 5_110_000),),
        )
    )
    assert (
        "截止7月底，全省累计上报开户数据480万人，完成年数据采集目标任务的84.1%，"
        "完成月数据采集目标任务的93.7%。累计完成制卡302万张（详见附表一）。" in text
    )
    assert (
        "至7月底，已提前完成全年数据采集目标任务的市州有2个："
        "永州市（完成全年目标的162%，已提交数据325万人）、"
        "湘西州（完成全年目标的116%，已提交数据58万人）。" in text
    )
    assert (
        "月度新增数据量较多的市州有：长沙市较6月份增加数据17万人、"
        "永州市较6月份增加数据15万人、湘西州较6月份增加数据2万人。" in text
    )
    assert "没有完成月数据采集目标任务的市州有1个：长沙市只完成了33%。" in text
    assert (
        "截止7月底，农业银行累计接受开户数据598万人，完成开户511万人，完成率为85.5%"
        "（详见附表二）。" in text
    )
    assert "附表一  2014年7月份社会保障卡数据采集和开户进展情况统计表" in text
    assert "附表二  2014年7月份各合作银行社会保障卡建设情况统计表" in text


def test_january_compares_with_last_december_and_december_is_not_early() -> None:
    january = text_of(figures(region("430100", "长沙市", 20, previous=10), month=1))
    # A small increase is written exactly, not "0万人" (issue 10, item 26).
    assert "长沙市较上年12月份增加数据10人" in january
    december = text_of(
        figures(region("430100", "长沙市", 20, annual=10), month=12),
    )
    assert "已完成全年数据采集目标任务的市州有1个" in december
    assert "提前" not in december


def test_clauses_without_targets_or_banks_are_left_out_not_invented() -> None:
    text = text_of(figures(region("430100", "长沙市", 150_000)))
    assert "截止7月底，全省累计上报开户数据15万人。（详见附表一）。" not in text
    assert "截止7月底，全省累计上报开户数据15万人（详见附表一）。" in text
    assert "目标任务" not in text.split("附表一")[0]
    assert "暂无合作银行开户数据" in text


def test_nobody_met_or_missed() -> None:
    text = text_of(figures(region("430100", "长沙市", 10, annual=100, month=10)))
    assert "尚无提前完成全年数据采集目标任务的市州" in text
    assert "各市州均已完成月数据采集目标任务" in text


def test_attachment_tables_have_a_total_row_and_exact_counts() -> None:
    document = bulletin_document(
        compute_bulletin(
            figures(
                region("430200", "株洲市", 1_620_000, annual=1_500_000),
                region("430100", "长沙市", 970_000, annual=3_204_000),
                banks=(BankFigures("农业银行", 598, 511), BankFigures("邮储银行", 286, 234)),
            )
        )
    )
    by_region, by_bank = document.tables
    assert [row[1] for row in by_region.rows] == ["长沙市", "株洲市", "合计"]
    assert by_region.rows[-1][4] == 2_590_000
    assert by_bank.rows[-1][1:] == ("合计", 884, 745, 139, Decimal("84.3"))


def test_snapshot_round_trips_through_json() -> None:
    original = figures(
        region("430100", "长沙市", 970_000, previous=1, annual=2, month=3, produced=4),
        banks=(BankFigures("农业银行", 598, None),),
    )
    restored = BulletinFigures.from_snapshot(json.loads(json.dumps(original.to_snapshot())))
    assert restored == original
    with pytest.raises(ValueError, match="version"):
        BulletinFigures.from_snapshot({**original.to_snapshot(), "version": 99})
