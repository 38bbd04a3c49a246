"""Live figures from the system's own records: cards made, issued and activated are counted
per day and village, turned into month-end figures up to the card centre's city, refreshed
incrementally, and preferred over a figure reported for the same region and month."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from shebao.accounts.choices import OrganisationKind
from shebao.cards.domain.lifecycle import CardEvent
from shebao.cards.models import CardHistory
from shebao.cards.services.card_life import card_apply_event
from shebao.geo.models import Region
from shebao.reports.domain.metrics import Metric
from shebao.reports.models import LiveCount, LiveFigure, LiveRefresh, ReportedFigure
from shebao.reports.selectors import dashboard_data, figure_sources
from shebao.reports.services import live_figures_refresh
from tests.factories import make_card, make_org, make_person, make_regions

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

VILLAGE = "420704001201"
CST = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def city(db: None) -> dict[str, Region]:
    regions = make_regions()
    make_org(OrganisationKind.CARD_CENTRE, "420700")
    return regions


def _card_with(events: list[CardEvent], *, at: datetime | None = None):  # type: ignore[no-untyped-def]
    person = make_person(VILLAGE)
    card = make_card(person, custodian=None, status="pending_production")
    for event in events:
        card_apply_event(card_id=card.pk, event=event, actor=None)
    if at is not None:
        CardHistory.objects.filter(card=card).update(at=at)
    return card


def _figures(year: int, month: int) -> dict[tuple[str, str], int]:
    return {
        (f.region_id, f.metric): f.value
        for f in LiveFigure.objects.filter(year=year, month=month, bank="")
    }


def test_cards_are_counted_by_village_and_rolled_up_to_the_city(city: dict[str, Region]) -> None:
    made = [CardEvent.PRODUCTION_SUCCEEDED]
    issued = [*made, CardEvent.ARRIVE_FOR_PICKUP, CardEvent.ISSUE]
    september = datetime(2026, 9, 10, 10, 0, tzinfo=CST)
    _card_with(made, at=september)
    _card_with(issued, at=september)
    _card_with([*issued, CardEvent.ACTIVATE])  # today
    today = timezone.localdate()

    outcome = live_figures_refresh(today=today)
    assert outcome.counts > 0 and outcome.figures > 0

    sept = _figures(2026, 9)
    for code in (VILLAGE, "420704001", "420704", "420700"):
        assert sept[(code, "produced")] == 2
        assert sept[(code, "distributed")] == 1
    # Not above the card centre's city: the province adds up what its cities show.
    assert ("420000", "produced") not in sept
    now = _figures(today.year, today.month)
    assert now[("420700", "produced")] == 3
    assert now[("420700", "distributed")] == 2
    assert now[("420700", "activated")] == 1
    # A month without work carries the cumulative figure forward.
    october = _figures(2026, 10)
    assert october[("420700", "produced")] >= 2


def test_a_refresh_recounts_only_the_days_since_the_last_one(city: dict[str, Region]) -> None:
    long_ago = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
    _card_with([CardEvent.PRODUCTION_SUCCEEDED], at=long_ago)
    live_figures_refresh()
    march = LiveCount.objects.get(day=date(2026, 3, 2), metric="produced")

    # A correction to old history is not re-read by an incremental refresh (it starts from
    # the day before the last run) but is by a full one.
    CardHistory.objects.update(at=long_ago + timedelta(hours=1))
    _card_with([CardEvent.PRODUCTION_SUCCEEDED])
    second = live_figures_refresh()
    assert second.refresh.since == timezone.localdate(
        LiveRefresh.objects.order_by("started_at").first().started_at  # type: ignore[union-attr]
    ) - timedelta(days=1)
    assert LiveCount.objects.get(pk=march.pk).count == 1  # untouched
    today = timezone.localdate()
    assert _figures(today.year, today.month)[("420700", "produced")] == 2

    call_command("figures", "refresh", "--full", stdout=StringIO())
    assert LiveCount.objects.filter(metric="produced").count() == 2


def test_a_partial_live_count_never_replaces_a_reported_figure_and_the_page_says_so(
    city: dict[str, Region],
) -> None:
    """ADR 0007: a live count is used only where it is not smaller than what is reported."""
    _card_with([CardEvent.PRODUCTION_SUCCEEDED])
    today = timezone.localdate()
    ReportedFigure.objects.create(
        year=today.year, month=today.month, region_id="420700", metric="produced", value=999
    )
    ReportedFigure.objects.create(
        year=today.year, month=today.month, region_id="420702", metric="produced", value=40
    )
    live_figures_refresh()
    data = dashboard_data(
        region=city["420000"], year=today.year, month=today.month, metric=Metric.PRODUCED
    )
    # The city reported 999; the system counted 1 card: the count is partial.
    assert {r.code: (r.value, r.source) for r in data.subordinates} == {"420700": (999, "上报")}
    city_board = dashboard_data(
        region=city["420700"], year=today.year, month=today.month, metric=Metric.PRODUCED
    )
    values = {r.code: (r.value, r.source) for r in city_board.subordinates}
    # A district with nothing reported shows what the system counted.
    assert values["420702"] == (40, "上报") and values["420704"] == (1, "实时")
    sources = figure_sources(region=city["420700"], year=today.year, month=today.month)
    assert sources.both == (("鄂州市", "制卡", "", "上报"),)
    assert sources.live == 2 and sources.reported == 2
    assert sources.refreshed_at is not None


def test_the_dashboard_and_bulletin_pages_name_the_source_used(
    city: dict[str, Region],
) -> None:
    from tests.integration.reports.test_pages import client_for, leader

    _card_with([CardEvent.PRODUCTION_SUCCEEDED])
    today = timezone.localdate()
    ReportedFigure.objects.create(
        year=today.year, month=today.month, region_id="420700", metric="produced", value=999
    )
    live_figures_refresh()
    client = client_for(leader("420700"))
    month = f"{today.year:04d}-{today.month:02d}"
    for page in ("/reports/dashboard/", "/reports/bulletin/"):
        html = client.get(page, {"month": month}).content.decode()
        assert "系统实时统计" in html, page
        assert "鄂州市·制卡（采用上报）" in html, page


def test_account_openings_are_counted_per_bank_and_in_total(city: dict[str, Region]) -> None:
    from shebao.cards.models import AccountOpeningItem, AccountOpeningRequest
    from shebao.registry.models import BankAccount

    bank = make_org(OrganisationKind.BANK, "420700", name="农业银行")
    today = timezone.localdate()
    request = AccountOpeningRequest.objects.create(
        code="KH-1",
        bank=bank,
        region_id="420704",
        status="sent",
        record_count=3,
        sent_on=today - timedelta(days=3),
        due_on=today + timedelta(days=20),
    )
    people = [make_person(VILLAGE) for _ in range(3)]
    for n, person in enumerate(people):
        opened = n == 0
        account = (
            BankAccount.objects.create(
                person=person, bank=bank, account_number=f"6228480{n:010d}", opened_on=today
            )
            if opened
            else None
        )
        AccountOpeningItem.objects.create(
            request=request,
            person=person,
            status="opened" if opened else ("failed" if n == 1 else "pending"),
            account=account,
            failure_reason="" if n != 1 else "证件过期",
            resolved_on=today if n < 2 else None,
        )
    live_figures_refresh()
    figures = {
        (f.region_id, f.bank, f.metric): f.value
        for f in LiveFigure.objects.filter(year=today.year, month=today.month)
    }
    assert figures[("420700", "", "submitted")] == 3
    assert figures[("420700", "农业银行", "received")] == 3
    assert figures[("420700", "农业银行", "opened")] == 1
    assert figures[(VILLAGE, "", "opened")] == 1
    data = dashboard_data(
        region=city["420700"], year=today.year, month=today.month, metric=Metric.SUBMITTED
    )
    assert [(b.name, b.received, b.opened) for b in data.banks] == [("农业银行", 3, 1)]


def test_the_dashboard_lists_account_opening_per_bank_and_branch_with_overdue(
    city: dict[str, Region],
) -> None:
    from shebao.cards.models import AccountOpeningItem, AccountOpeningRequest
    from tests.integration.reports.test_pages import client_for, leader

    bank = make_org(OrganisationKind.BANK, "420700", name="邮储银行")
    today = timezone.localdate()
    request = AccountOpeningRequest.objects.create(
        code="KH-2",
        bank=bank,
        region_id="420704",
        status="sent",
        record_count=2,
        sent_on=today - timedelta(days=40),
        due_on=today - timedelta(days=10),
    )
    for _ in range(2):
        AccountOpeningItem.objects.create(request=request, person=make_person(VILLAGE))
    _card_with([CardEvent.PRODUCTION_SUCCEEDED])
    live_figures_refresh()
    client = client_for(leader("420700"))
    html = client.get("/reports/dashboard/").content.decode()
    assert 'data-testid="account-table"' in html
    row = html[html.index("<td>邮储银行</td>") :]
    row = row[: row.index("</tr>")]
    # Received 2, opened 0, both pending and past their 15-working-day deadline.
    assert '<td class="num behind">2</td>' in row


def test_the_dashboard_loads_registration_coverage_for_the_region(
    city: dict[str, Region],
) -> None:
    from tests.integration.reports.test_pages import client_for, leader

    _card_with([CardEvent.PRODUCTION_SUCCEEDED])
    live_figures_refresh()
    client = client_for(leader("420700"))
    html = client.get("/reports/dashboard/").content.decode()
    assert 'data-coverage="/registration/coverage/data.json?region=420700"' in html
    assert client.get("/registration/coverage/data.json", {"region": "420700"}).status_code == 200


def test_registered_persons_are_recorded_as_each_months_snapshot(
    city: dict[str, Region],
) -> None:
    from shebao.registration.models import PersonRegistration

    people = [make_person(VILLAGE) for _ in range(3)]
    for n, person in enumerate(people):
        PersonRegistration.objects.create(
            person=person, state="registered" if n < 2 else "uninsured", region_id=VILLAGE
        )
    live_figures_refresh(today=date(2026, 10, 20))
    october = {
        f.region_id: f.value for f in LiveFigure.objects.filter(metric="registered", month=10)
    }
    assert october == {VILLAGE: 2, "420704001": 2, "420704": 2, "420700": 2}

    # In November a third person is confirmed: November says 3, October keeps its 2.
    PersonRegistration.objects.filter(person=people[2]).update(state="registered")
    live_figures_refresh(today=date(2026, 11, 3))
    values = {
        (f.month, f.region_id): f.value
        for f in LiveFigure.objects.filter(metric="registered", region_id="420700")
    }
    assert values == {(10, "420700"): 2, (11, "420700"): 3}
