"""Where live figures come from: each source counts one kind of recorded work per day,
region and bank, from the tables of the app that records it (cards, registration …).

A source answers with aggregated rows (the database groups them); nothing here walks
records one by one. Sources are registered by metric so that an app landing later adds its
own without touching the refresh.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Final

from django.db.models import Count
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from shebao.cards.domain.lifecycle import CardEvent
from shebao.cards.models import AccountOpeningItem, CardHistory
from shebao.cards.models.banking import AccountItemStatus
from shebao.ecard.models import ECard
from shebao.registration.choices import RegistrationState
from shebao.registration.models import PersonRegistration
from shebao.reports.domain.metrics import Metric

__all__ = ["LIVE_SOURCES", "LIVE_STOCKS", "CountRow", "LiveSource", "LiveStock", "live_metrics"]

CountRow = tuple[date, str, str, Metric, int]  # (day, region code, bank, metric, count)


@dataclass(frozen=True, slots=True)
class LiveSource:
    name: str
    metrics: frozenset[Metric]
    count: Callable[[date | None], Iterable[CountRow]]  # the rows of the days since a day


def _start_of(day: date | None) -> datetime | None:
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.min))


_CARD_EVENTS: Final[dict[str, Metric]] = {
    CardEvent.PRODUCTION_SUCCEEDED.value: Metric.PRODUCED,
    CardEvent.ISSUE.value: Metric.DISTRIBUTED,
    CardEvent.ACTIVATE.value: Metric.ACTIVATED,
}


def card_events(since: date | None) -> Iterable[CountRow]:
    """Cards made (制卡), handed to their holders (发卡) and activated (激活), counted where
    the holder lives (else where the holder's household is registered)."""
    history = CardHistory.objects.filter(event__in=list(_CARD_EVENTS))
    start = _start_of(since)
    if start is not None:
        history = history.filter(at__gte=start)
    rows = (
        history.annotate(
            day=TruncDate("at"),
            region=Coalesce("card__person__residence_region_id", "card__person__hukou_region_id"),
        )
        .values_list("day", "region", "event")
        .annotate(n=Count("id"))
        .order_by()
    )
    for day, region, event, n in rows:
        yield day, region, "", _CARD_EVENTS[event], n


def account_openings(since: date | None) -> Iterable[CountRow]:
    """Account-opening data sent to the banks (上报开户数据; a bank receives what is sent,
    接收开户数据) and accounts opened (完成开户), per bank and in total, counted where the
    applicant lives."""
    items = AccountOpeningItem.objects.all()
    region = Coalesce("person__residence_region_id", "person__hukou_region_id")
    # A failed record corrected and sent again is the same person's data: counted once.
    sent = items.filter(request__sent_on__isnull=False).exclude(
        status=AccountItemStatus.RESUBMITTED
    )
    opened = items.filter(status=AccountItemStatus.OPENED, resolved_on__isnull=False)
    if since is not None:
        sent = sent.filter(request__sent_on__gte=since)
        opened = opened.filter(resolved_on__gte=since)
    for query, day_field, metrics in (
        (sent, "request__sent_on", (Metric.SUBMITTED, Metric.RECEIVED)),
        (opened, "resolved_on", (Metric.OPENED,)),
    ):
        rows = (
            query.annotate(region=region)
            .values_list(day_field, "region", "request__bank__name")
            .annotate(n=Count("id"))
            .order_by()
        )
        for day, code, bank, n in rows:
            for metric in metrics:
                yield day, code, "", metric, n
                yield day, code, bank, metric, n


def ecard_issuances(since: date | None) -> Iterable[CountRow]:
    """E-cards issued (电子社保卡 签发), counted where the holder lives (else the household
    register), on the day of issue. Cumulative like 发卡: an e-card later suspended or ended
    was still issued (the published figure counts holders who have had one)."""
    ecards = ECard.objects.all()
    start = _start_of(since)
    if start is not None:
        ecards = ecards.filter(issued_at__gte=start)
    rows = (
        ecards.annotate(
            day=TruncDate("issued_at"),
            region=Coalesce("person__residence_region_id", "person__hukou_region_id"),
        )
        .values_list("day", "region")
        .annotate(n=Count("id"))
        .order_by()
    )
    for day, region, n in rows:
        yield day, region, "", Metric.ECARD, n


LIVE_SOURCES: list[LiveSource] = [
    LiveSource("社保卡制发", frozenset(_CARD_EVENTS.values()), card_events),
    LiveSource(
        "银行开户",
        frozenset({Metric.SUBMITTED, Metric.RECEIVED, Metric.OPENED}),
        account_openings,
    ),
    LiveSource("电子社保卡签发", frozenset({Metric.ECARD}), ecard_issuances),
]


StockRow = tuple[str, str, int]  # (region code, bank or "", how many now)


@dataclass(frozen=True, slots=True)
class LiveStock:
    """A metric that is a state, not a flow of events: how many persons are in it now. The
    refresh records it as the current month's figure; past months keep the figure their last
    refresh recorded (a month-end snapshot)."""

    name: str
    metric: Metric
    count: Callable[[], Iterable[StockRow]]


def registered_persons() -> Iterable[StockRow]:
    """Persons whose universal registration is confirmed (参保登记), where they belong."""
    rows = (
        PersonRegistration.objects.filter(state=RegistrationState.REGISTERED)
        .values_list("region_id")
        .annotate(n=Count("person_id"))
        .order_by()
    )
    for region, n in rows:
        yield region, "", n


LIVE_STOCKS: list[LiveStock] = [LiveStock("全民参保登记", Metric.REGISTERED, registered_persons)]


def live_metrics() -> frozenset[Metric]:
    """The metrics that some source counts (for the pages' notes)."""
    flows = {m for source in LIVE_SOURCES for m in source.metrics}
    return frozenset(flows | {stock.metric for stock in LIVE_STOCKS})
