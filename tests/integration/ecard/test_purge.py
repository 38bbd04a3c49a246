"""Spent QR codes and business tokens are purged a day after they expire, in batches, by
the hourly job and by `shebao ecard purge`; a purged code is still refused as expired."""

from __future__ import annotations

import json
import time
from io import StringIO

import pytest
from django.core.management import call_command

from shebao.ecard.jobs import PURGE
from shebao.ecard.models import BusinessToken, QrCode
from shebao.ecard.services import purge
from shebao.ecard.services.common import QrRefused
from shebao.ecard.services.ecards import ecard_issue_by_operator
from shebao.ecard.services.qr import qr_issue, qr_redeem
from shebao.jobs.services import job_enqueue, job_run_next
from tests.integration.ecard.world import build_world

pytestmark = pytest.mark.django_db

DAY = 86400.0


@pytest.fixture(autouse=True)
def _own_data_dir(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path


def test_codes_and_tokens_expired_over_a_day_ago_are_purged_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = build_world()
    ecard = ecard_issue_by_operator(card_number=world.cards[0].card_number, actor=None)
    now = time.time()
    # Two days ago: three codes shown, one redeemed (its business token expired long since).
    old = [qr_issue(ecard, now=now - 2 * DAY + i * 60) for i in range(3)]
    qr_redeem(old[0].text, terminal_code="T-1", fields=["name"], now=now - 2 * DAY + 10)
    # Ten minutes ago: a code redeemed, its business token still valid for twenty minutes.
    recent = qr_issue(ecard, now=now - 600)
    qr_redeem(recent.text, terminal_code="T-1", fields=["name"], now=now - 590)
    fresh = qr_issue(ecard, now=now)
    assert (QrCode.objects.count(), BusinessToken.objects.count()) == (5, 2)

    monkeypatch.setattr(purge, "BATCH", 2)  # several batches for the three old codes
    job = job_enqueue(kind=PURGE)
    ran = job_run_next(job_id=job.pk)
    assert ran is not None and ran.status == "succeeded", ran and ran.error
    assert ran.result == {"qr_codes": 3, "business_tokens": 1}
    assert QrCode.objects.count() == 2 and BusinessToken.objects.count() == 1

    # The purged code is refused as expired, from its own signed times, as before.
    with pytest.raises(QrRefused) as refused:
        qr_redeem(old[1].text, terminal_code="T-1", fields=["name"])
    assert refused.value.code == "EXPIRED"
    # The code shown now still redeems once.
    assert qr_redeem(fresh.text, terminal_code="T-2", fields=["name"]).business_token

    out = StringIO()
    call_command("ecard", "purge", stdout=out)
    assert json.loads(out.getvalue()) == {"qr_codes": 0, "business_tokens": 0}
