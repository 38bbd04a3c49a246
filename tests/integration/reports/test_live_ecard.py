"""The 电子社保卡 figure is live: e-cards issued in the system are counted per day where the
holder lives and rolled up to the card centre's city, like cards issued (issue #11 §5)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from shebao.accounts.choices import OrganisationKind
from shebao.ecard.models import ECard
from shebao.reports.models import LiveFigure
from shebao.reports.services import live_figures_refresh
from tests.factories import make_card, make_org, make_person, make_regions

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CST = ZoneInfo("Asia/Shanghai")


def _ecard(village: str, at: datetime | None = None) -> ECard:
    person = make_person(village)
    card = make_card(person, custodian=None, status="active")
    ecard = ECard.objects.create(person=person, card=card)
    if at is not None:
        ECard.objects.filter(pk=ecard.pk).update(issued_at=at)
    return ecard


def test_ecards_issued_are_a_live_cumulative_figure() -> None:
    make_regions()
    make_org(OrganisationKind.CARD_CENTRE, "420700")
    _ecard("420704001201", datetime(2026, 9, 3, 9, 0, tzinfo=CST))
    _ecard("420702100201", datetime(2026, 9, 30, 23, 30, tzinfo=CST))
    suspended = _ecard("420704001202")
    ECard.objects.filter(pk=suspended.pk).update(status="suspended")
    today = timezone.localdate()
    live_figures_refresh(today=today)

    def figure(year: int, month: int, region: str) -> int | None:
        row = LiveFigure.objects.filter(
            year=year, month=month, region_id=region, metric="ecard", bank=""
        ).first()
        return None if row is None else row.value

    assert figure(2026, 9, "420700") == 2
    assert figure(2026, 9, "420704") == 1 and figure(2026, 9, "420702") == 1
    # Issued then suspended still counts as issued (a cumulative figure like 发卡).
    assert figure(today.year, today.month, "420700") == 3
