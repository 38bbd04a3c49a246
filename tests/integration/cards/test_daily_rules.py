"""The time-driven card rules (recall of overdue cards, lapse of temporary losses,
cancellation on death) are registered as daily schedules that the worker runs, and each
command takes `--as-of` (and `--dry-run`) to try a day ahead."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from shebao.cards.domain.lifecycle import CardEvent, CardStatus
from shebao.cards.jobs import CANCEL_DECEASED, LAPSE_TEMPORARY_LOSSES, RECALL_OVERDUE
from shebao.cards.models import Card, CardHistory, CardIssuingPolicy
from shebao.cards.services.card_life import card_report_temporary_loss
from shebao.jobs.choices import JobStatus
from shebao.jobs.models import Job, ScheduledRun
from shebao.jobs.schedules import schedules_enqueue_due, schedules_registered
from shebao.jobs.services import job_run_next
from shebao.registry.choices import LifeStatus
from shebao.registry.models import Person
from tests.factories import make_card
from tests.integration.cards.custody_world import Chain, build_chain, deliver_to_village

pytestmark = pytest.mark.django_db

CHINA = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def chain() -> Chain:
    return build_chain()


def _status(card: Card) -> CardStatus:
    card.refresh_from_db()
    return CardStatus(card.status)


def _run(*args: str) -> str:
    out = StringIO()
    call_command("cards", *args, stdout=out)
    return out.getvalue()


def test_the_three_rules_are_scheduled_daily_as_worker_jobs() -> None:
    registered = schedules_registered()
    kinds = {s.kind for s in registered.values()}
    assert {RECALL_OVERDUE, LAPSE_TEMPORARY_LOSSES, CANCEL_DECEASED} <= kinds
    morning = datetime(2026, 12, 7, 6, 0, tzinfo=CHINA)
    ids = schedules_enqueue_due(now=morning)
    queued = set(Job.objects.filter(pk__in=ids).values_list("kind", flat=True))
    assert {RECALL_OVERDUE, LAPSE_TEMPORARY_LOSSES, CANCEL_DECEASED} <= queued
    # Once a day: the same morning later enqueues nothing more of them.
    again = schedules_enqueue_due(now=morning + timedelta(hours=3))
    assert not Job.objects.filter(pk__in=again, kind__startswith="cards.").exists()
    assert ScheduledRun.objects.filter(name__startswith="cards.").count() == 3
    # Before 01:00 the day's runs are not due yet.
    ScheduledRun.objects.all().delete()
    Job.objects.all().delete()
    night = datetime(2026, 12, 8, 0, 30, tzinfo=CHINA)
    assert not Job.objects.filter(
        pk__in=schedules_enqueue_due(now=night), kind__startswith="cards."
    ).exists()


def test_the_worker_runs_the_scheduled_cancellation(chain: Chain) -> None:
    person = chain.people[2]
    card = make_card(person, custodian=None, status=CardStatus.ACTIVE.value)
    # A death loaded in bulk (no signal): only the nightly rule cancels the card.
    Person.objects.filter(pk=person.pk).update(
        life_status=LifeStatus.DECEASED, status_date=timezone.localdate()
    )
    schedules_enqueue_due(now=timezone.localtime().replace(hour=5))
    daily = [RECALL_OVERDUE, LAPSE_TEMPORARY_LOSSES, CANCEL_DECEASED]
    while (job := job_run_next(kinds=daily)) is not None:
        assert job.status == JobStatus.SUCCEEDED, job.error
    assert _status(card) is CardStatus.CANCELLED
    history = CardHistory.objects.get(card=card)
    assert (history.event, history.channel) == (CardEvent.CANCEL_ON_DEATH, "system")
    done = Job.objects.get(kind=CANCEL_DECEASED)
    assert done.result["count"] == 1


def test_recall_overdue_as_of_a_later_day(chain: Chain) -> None:
    CardIssuingPolicy.objects.create(recall_after_days=30)
    cards = chain.cards_at_centre(2)
    deliver_to_village(chain, cards)
    today = timezone.localdate()
    assert "应回收逾期未领取卡片 0 张" in _run("recall-overdue", "--dry-run")
    later = (today + timedelta(days=31)).isoformat()
    dry = _run("recall-overdue", "--as-of", later, "--dry-run")
    assert f"应回收逾期未领取卡片 2 张（基准日 {later}）" in dry and "凤凰村村委会：2 张" in dry
    assert {_status(c) for c in cards} == {CardStatus.AWAITING_PICKUP}
    done = _run("recall-overdue", "--as-of", later)
    assert "已回收逾期未领取卡片 2 张" in done and "回收交接单" in done
    assert {_status(c) for c in cards} == {CardStatus.MADE}


def test_lapse_of_temporary_losses_as_of_a_later_day(chain: Chain) -> None:
    CardIssuingPolicy.objects.create(temporary_loss_days=15)
    card = make_card(chain.people[0], custodian=None, status="active", bank=chain.bank)
    card_report_temporary_loss(actor=None, card_id=card.pk, channel="online")
    today = timezone.localdate()
    assert "临时挂失到期自动解除 0 张" in _run("lapse-temporary-losses")
    later = (today + timedelta(days=15)).isoformat()
    assert "应自动解除 1 张" in _run("lapse-temporary-losses", "--as-of", later, "--dry-run")
    assert _status(card) is CardStatus.TEMPORARY_LOSS
    assert "临时挂失到期自动解除 1 张" in _run("lapse-temporary-losses", "--as-of", later)
    assert _status(card) is CardStatus.ACTIVE


def test_cancel_deceased_as_of_the_death_date(chain: Chain) -> None:
    person = chain.people[1]
    card = make_card(person, custodian=None, status=CardStatus.ACTIVE.value)
    death = timezone.localdate()
    Person.objects.filter(pk=person.pk).update(life_status=LifeStatus.DECEASED, status_date=death)
    before = (death - timedelta(days=1)).isoformat()
    assert "已注销死亡人员的卡片 0 张" in _run("cancel-deceased", "--as-of", before)
    assert "应注销死亡人员的卡片 1 张" in _run("cancel-deceased", "--dry-run")
    assert _status(card) is CardStatus.ACTIVE
    assert "已注销死亡人员的卡片 1 张" in _run("cancel-deceased", "--as-of", death.isoformat())
    assert _status(card) is CardStatus.CANCELLED


def test_a_malformed_as_of_is_refused_in_chinese() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="日期应为 YYYY-MM-DD 格式"):
        call_command("cards", "recall-overdue", "--as-of", "2026-13-40")
