"""The dashboard's arithmetic: a region's figure is its own row or the sum below it, the
month's increase, shares of the targets, the ranking and the banks' completion rates."""

from decimal import Decimal

from shebao.reports.domain.dashboard import DashboardInput, compute_dashboard
from shebao.reports.domain.metrics import Metric

S, R, OP = Metric.SUBMITTED, Metric.RECEIVED, Metric.OPENED
CHILDREN = {"430000": ["430100", "430200"], "430200": ["430202", "430203"]}
DIRECT = [("430100", "长沙市"), ("430200", "株洲市")]


def dashboard(month: int = 7, **overrides):  # type: ignore[no-untyped-def]
    data = {
        "region_code": "430000",
        "region_name": "湖南省",
        "region_level": 1,
        "year": 2014,
        "month": month,
        "metric": S,
        "direct": DIRECT,
        "children": CHILDREN,
        # 长沙 reports its own total; 株洲 only through its two districts.
        "own": {
            (S, 0): {"430100": 50, "430202": 10, "430203": 10},
            (S, 1): {"430100": 80, "430202": 20, "430203": 15},
            (S, 6): {"430100": 200, "430202": 60, "430203": 40},
            (S, 7): {"430100": 260, "430202": 90, "430203": 60},
        },
        "annual": {S: {"430100": 250, "430200": 300}},
        "monthly": {(S, 7): {"430100": 240, "430200": 160}},
        "banks": {
            ("农业银行", R): {"430100": 598, "430202": 2},
            ("农业银行", OP): {"430100": 511},
            ("邮储银行", R): {"430000": 286},
        },
        "months_with_data": [1, 6, 7],
    }
    data.update(overrides)
    return compute_dashboard(DashboardInput(**data))  # type: ignore[arg-type]


def test_region_figures_roll_up_and_compare_with_targets() -> None:
    d = dashboard()
    province = next(m for m in d.metrics if m.metric is S)
    assert (province.value, province.increase) == (410, 110)
    assert province.annual_target == 550 and province.month_target == 400
    assert province.annual_percent == Decimal("74.5")  # 410 / 550
    assert province.month_percent == Decimal("102.5")  # 410 / 400
    changsha, zhuzhou = d.subordinates
    assert (changsha.value, changsha.increase, changsha.annual_percent) == (260, 60, Decimal("104"))
    assert (zhuzhou.value, zhuzhou.increase) == (150, 50)
    assert zhuzhou.month_percent == Decimal("93.8")  # 150 / 160
    # Only 株洲 has rows below it: a leader can drill into it, not into 长沙.
    assert (changsha.drillable, zhuzhou.drillable) == (False, True)


def test_ranking_orders_by_exact_completion_and_puts_regions_without_target_last() -> None:
    d = dashboard(annual={S: {"430200": 150, "430100": 260}})
    # Both complete 100 % exactly: ties go by region code.
    assert [r.code for r in d.ranking] == ["430100", "430200"]
    d = dashboard(annual={S: {"430200": 300}})
    assert [r.code for r in d.ranking] == ["430200", "430100"]


def test_the_trend_has_twelve_months_and_january_compares_with_december() -> None:
    d = dashboard()
    assert len(d.trend) == 12
    january = d.trend[0]
    assert (january.value, january.increase) == (115, 45)  # 80+20+15 against 50+10+10
    assert d.trend[2].value is None and d.trend[2].increase is None
    assert d.trend[6].month_target == 400


def test_bank_rates_sum_over_the_region_and_tolerate_missing_figures() -> None:
    d = dashboard()
    banks = {b.name: b for b in d.banks}
    assert (banks["农业银行"].received, banks["农业银行"].opened) == (600, 511)
    assert banks["农业银行"].rate == Decimal("85.2")
    assert banks["农业银行"].not_opened == 89
    assert banks["邮储银行"].rate is None and banks["邮储银行"].not_opened is None
    payload = d.to_json()
    assert payload["banks"][0]["rate"] == 85.2
    assert payload["region"] == {"code": "430000", "name": "湖南省", "level": 1}
