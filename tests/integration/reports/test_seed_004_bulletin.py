"""Seed 004 (湘人社函〔2014〕237号, Hunan's bulletin for July 2014) reproduced end to end.

The seed's text names its two attachment tables but does not include them, so
`data/hunan_2014_07_*.csv` reconstruct the fourteen prefectures' exact counts from what the
prose states (see data/README.md): every figure the prose gives is reproduced exactly; the
rest (targets, June figures, cards per prefecture) are chosen to be consistent with it.

Where the seed contradicts itself, the test follows the arithmetic and says so:

1. 农信社联社: 697万 opened of 817万 received is 85.3% (any counts that round to 817/697 give
   85.2–85.4%), not the 84.8% printed. 84.8% is the three banks together: 1442/1701.
2. The monthly increases are printed 常德 101、邵阳 145、郴州 97、张家界 30 — not in
   descending order; the bulletin writes them largest first. 张家界's is written "较7月份".
3. 益阳 "至月底前提交数据43万人" after the 28th would be a July increase of 43万, above
   张家界's 30万 in the top four; the data read it as 43万 cumulative with 15万 before July.
4. The first item of the "met early" list uses "、" inside its parentheses, the others "，";
   the bulletin writes "，" throughout.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from shebao.geo.models import Region
from shebao.reports.domain.bulletin import BulletinFigures
from shebao.reports.domain.numbers import wan
from shebao.reports.models import Bulletin

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

DATA = Path(__file__).parent / "data"


@pytest.fixture
def bulletin_text(hunan: dict[str, Region], tmp_path: Path) -> str:
    out = StringIO()
    call_command("targets", "import", str(DATA / "hunan_2014_07_targets.csv"), stdout=out)
    call_command("figures", "import", str(DATA / "hunan_2014_07_figures.csv"), stdout=out)
    path = tmp_path / "bulletin.txt"
    call_command(
        "bulletin",
        "--month=2014-07",
        "--region=430000",
        "--format=text",
        f"--out={path}",
        stdout=out,
    )
    return path.read_text(encoding="utf-8")


def test_the_provincial_summary(bulletin_text: str) -> None:
    assert (
        "（一）全省数据采集与制卡情况。截止7月底，全省累计上报开户数据1855万人，"
        "完成年数据采集目标任务的87.3%，完成月数据采集目标任务的101.5%。"
        "累计完成制卡1168万张（详见附表一）。"
    ) in bulletin_text


def test_the_ten_prefectures_that_met_the_annual_target_in_the_seeds_order(
    bulletin_text: str,
) -> None:
    seed = [
        ("永州市", 162, 325),
        ("张家界市", 128, 58),
        ("娄底市", 123, 162),
        ("湘西州", 116, 58),
        ("株洲市", 108, 162),  # 108.0%: before 邵阳's 107.9%
        ("邵阳市", 108, 211),
        ("怀化市", 107, 107),
        ("郴州市", 105, 157),
        ("常德市", 102, 205),
        ("湘潭市", 100, 100),  # exactly the target: cumulative ≥ target counts
    ]
    items = "、".join(f"{n}（完成全年目标的{p}%，已提交数据{v}万人）" for n, p, v in seed)
    assert f"至7月底，已提前完成全年数据采集目标任务的市州有10个：{items}。" in bulletin_text


def test_the_largest_monthly_increases(bulletin_text: str) -> None:
    # The seed's four, largest first (the seed prints them 常德, 邵阳, 郴州, 张家界).
    assert (
        "月度新增数据量较多的市州有：邵阳市较6月份增加数据145万人、"
        "常德市较6月份增加数据101万人、郴州市较6月份增加数据97万人、"
        "张家界市较6月份增加数据30万人。"
    ) in bulletin_text


def test_the_prefectures_that_missed_the_month_target(bulletin_text: str) -> None:
    assert (
        "没有完成月数据采集目标任务的市州有3个："
        "衡阳市只完成了0%，长沙市只完成了33%，益阳市只完成了60%。"
    ) in bulletin_text


def test_the_banks(bulletin_text: str) -> None:
    assert (
        "（二）合作银行开户情况。截止7月底，"
        "农业银行累计接受开户数据598万人，完成开户511万人，完成率为85.5%；"
        "邮储银行累计接受开户数据286万人，完成开户234万人，完成率为81.8%；"
        # The seed prints 84.8% here; 697/817 is 85.3% (see the module docstring).
        "农信社联社累计接受开户数据817万人，完成开户697万人，完成率为85.3%（详见附表二）。"
    ) in bulletin_text
    # 84.8% is the rate of the three banks together, the total row of 附表二.
    total_row = next(
        line for line in bulletin_text.split("附表二  ")[1].splitlines() if "合计" in line
    )
    assert total_row.split() == ["合计", "1701.00", "1442.00", "259.00", "84.8%"]


def test_the_region_table_and_what_august_still_needs(bulletin_text: str) -> None:
    table = bulletin_text.split("附表一  ")[1].split("附表二  ")[0]
    rows = [line.split() for line in table.splitlines()[1:] if line[:1].isdigit()]
    assert [r[1] for r in rows] == [
        "长沙市", "株洲市", "湘潭市", "衡阳市", "邵阳市", "岳阳市", "常德市",
        "张家界市", "益阳市", "郴州市", "永州市", "怀化市", "娄底市", "湘西州",
    ]  # fmt: skip
    total = next(line.split() for line in table.splitlines() if "合计" in line)
    assert total[-3:] == ["87.3%", "101.5%", "1168.00"]
    # "8月份，还需要至少提交269万人的开户数据才能完成年度任务": annual − cumulative.
    snapshot = BulletinFigures.from_snapshot(Bulletin.objects.get().snapshot)
    assert snapshot.region.annual_target is not None and snapshot.region.submitted is not None
    assert wan(snapshot.region.annual_target - snapshot.region.submitted) == 269
