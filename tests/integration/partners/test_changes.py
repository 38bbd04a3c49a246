"""The holder base kept right against the population register: a death or a change of
name reaches the partners that verified the person, by the pull feed (cursor) and by a
signed webhook to a real local HTTP server, retried with backoff; the card follows the
death at once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from shebao.cards.models import Card
from shebao.jobs.models import Job
from shebao.jobs.services import job_run_next
from shebao.partners.domain.webhook import SIGNATURE_HEADER, signature_valid
from shebao.partners.jobs import DELIVER_CHANGES_NOW
from shebao.partners.models import Partner
from shebao.partners.services.changes import webhooks_deliver
from shebao.partners.services.registry import partner_set_webhook
from shebao.registry.choices import LifeStatus
from shebao.registry.services import person_record_status, person_update
from tests.integration.partners.world import access_token, build_partner_world, call

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=False)]


def _verify(client: Client, token: str, id_number: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = call(
        client,
        token,
        "POST",
        "/verify",
        {"method": "id_number", "id_number": id_number, "name": name},
    ).json()
    return body


def test_the_feed_tells_only_partners_that_verified_the_person_in_their_scope() -> None:
    world = build_partner_world(hospital_fields=("full_name", "life_status"))
    client = Client()
    hospital = access_token(client, world.hospital_terminal)
    bus = access_token(client, world.bus_terminal)
    ref = _verify(client, hospital, world.holder.id_number, "王小明")["person_ref"]

    person_update(
        actor=world.centre_user,
        person_id=world.holder.pk,
        changes={"name": "王晓明", "phone": "13907110001"},
        reason="户籍登记更正",
    )
    person_record_status(
        actor=None,
        person_id=world.holder.pk,
        status=LifeStatus.DECEASED,
        on=date(2026, 11, 30),
        reason="民政死亡数据",
    )
    feed = call(client, hospital, "GET", "/changes?after=0").json()
    changes = [(c["change"], c["person_ref"]) for c in feed["changes"]]
    assert changes == [("name_changed", ref), ("deceased", ref)]  # the phone is not watched
    assert feed["changes"][1]["fields"] == {"full_name": "王晓明", "life_status": "死亡"}
    assert feed["next_cursor"] == feed["changes"][-1]["cursor"]
    # Asked again from the cursor: nothing new.
    again = call(client, hospital, "GET", f"/changes?after={feed['next_cursor']}").json()
    assert again == {"changes": [], "next_cursor": feed["next_cursor"]}
    # The bus company never verified the person: it is told nothing.
    assert call(client, bus, "GET", "/changes?after=0").json()["changes"] == []
    # The card followed the death at once (the cards app's receiver).
    assert Card.objects.get(pk=world.card.pk).status == "cancelled"
    # And verification now says so.
    assert _verify(client, hospital, world.holder.id_number, "王晓明")["reason"] == "DECEASED"


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[bytes, str]] = []
    fail_next = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Receiver.fail_next > 0:
            _Receiver.fail_next -= 1
            self.send_response(500)
            self.end_headers()
            return
        _Receiver.received.append((body, self.headers[SIGNATURE_HEADER]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def partner_server() -> Iterator[str]:
    _Receiver.received = []
    _Receiver.fail_next = 0
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/shebao/changes"
    server.shutdown()
    server.server_close()


def test_the_webhook_posts_signed_changes_and_retries_with_backoff(partner_server: str) -> None:
    world = build_partner_world()
    client = Client()
    hospital = access_token(client, world.hospital_terminal)
    ref = _verify(client, hospital, world.holder.id_number, "王小明")["person_ref"]
    _, secret = partner_set_webhook(
        actor=world.centre_user, partner_id=world.hospital.pk, url=partner_server
    )
    person_record_status(
        actor=None,
        person_id=world.holder.pk,
        status=LifeStatus.DECEASED,
        on=date(2026, 11, 30),
        reason="民政死亡数据",
    )

    _Receiver.fail_next = 1  # the partner's server is down once
    first = webhooks_deliver()
    assert (first.delivered, first.failed_partners) == (0, 1)
    partner = Partner.objects.get(pk=world.hospital.pk)
    assert partner.webhook_failures == 1
    assert partner.webhook_last_error.startswith("HTTPError")
    assert partner.webhook_next_attempt_at is not None
    # Waiting out the backoff: nothing is sent before it is over.
    assert webhooks_deliver().delivered == 0
    assert _Receiver.received == []

    later = partner.webhook_next_attempt_at + timedelta(seconds=1)
    second = webhooks_deliver(now=later)
    assert (second.delivered, second.failed_partners) == (1, 0)
    ((body, header),) = _Receiver.received
    assert signature_valid(
        secret=secret, body=body, header=header, now=int(timezone.now().timestamp())
    )
    payload = json.loads(body)
    assert [(c["change"], c["person_ref"]) for c in payload["changes"]] == [("deceased", ref)]
    assert payload["changes"][0]["fields"] == {
        "masked_name": "王*明",
        "gender": "男",
        "card_status": "无有效卡",
    }
    partner.refresh_from_db()
    assert partner.webhook_cursor == payload["next_cursor"]
    assert partner.webhook_failures == 0
    # Delivered once: the next run sends nothing again.
    assert webhooks_deliver(now=later).delivered == 0
    assert len(_Receiver.received) == 1


def test_a_change_reaches_the_partners_webhook_at_once_after_it_commits(
    partner_server: str, django_capture_on_commit_callbacks: Any
) -> None:
    world = build_partner_world()
    client = Client()
    hospital = access_token(client, world.hospital_terminal)
    ref = _verify(client, hospital, world.holder.id_number, "王小明")["person_ref"]
    _, secret = partner_set_webhook(
        actor=world.centre_user, partner_id=world.hospital.pk, url=partner_server
    )
    # The bus company has a webhook too but never verified this holder.
    partner_set_webhook(actor=world.centre_user, partner_id=world.bus.pk, url=partner_server)

    # A change that is rolled back queues nothing.
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        person_update(
            actor=world.centre_user,
            person_id=world.holder.pk,
            changes={"name": "王大明"},
            reason="误录",
        )
        raise RuntimeError("clerk's transaction fails")
    assert not Job.objects.filter(kind=DELIVER_CHANGES_NOW).exists()

    # A death and a name change in one transaction: one delivery job, for the hospital only.
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        person_update(
            actor=world.centre_user,
            person_id=world.holder.pk,
            changes={"name": "王晓明"},
            reason="户籍登记更正",
        )
        person_record_status(
            actor=None,
            person_id=world.holder.pk,
            status=LifeStatus.DECEASED,
            on=date(2026, 11, 30),
            reason="民政死亡数据",
        )
    (job,) = Job.objects.filter(kind=DELIVER_CHANGES_NOW)
    assert job.parameters == {"partner_ids": [world.hospital.pk]}
    # A second change before the worker took the job adds no job: the queued one covers it.
    with django_capture_on_commit_callbacks(execute=True):
        person_update(
            actor=world.centre_user,
            person_id=world.holder.pk,
            changes={"phone": "13907110002"},
            reason="本人申请",
        )
    assert Job.objects.filter(kind=DELIVER_CHANGES_NOW).count() == 1

    ran = job_run_next(kinds=[DELIVER_CHANGES_NOW])
    assert ran is not None and ran.status == "succeeded", ran and ran.error
    assert ran.result == {"delivered": 2, "failed_partners": 0}
    ((body, header),) = _Receiver.received
    assert signature_valid(
        secret=secret, body=body, header=header, now=int(timezone.now().timestamp())
    )
    changes = [(c["change"], c["person_ref"]) for c in json.loads(body)["changes"]]
    assert changes == [("name_changed", ref), ("deceased", ref)]
    # The card and the e-card followed in the change's own transaction.
    assert Card.objects.get(pk=world.card.pk).status == "cancelled"
    # The five-minute job finds nothing left to send.
    assert webhooks_deliver().delivered == 0


def test_an_immediate_delivery_that_fails_waits_for_the_retry_with_backoff(
    partner_server: str, django_capture_on_commit_callbacks: Any
) -> None:
    world = build_partner_world()
    client = Client()
    hospital = access_token(client, world.hospital_terminal)
    _verify(client, hospital, world.holder.id_number, "王小明")
    partner_set_webhook(actor=world.centre_user, partner_id=world.hospital.pk, url=partner_server)
    _Receiver.fail_next = 1
    with django_capture_on_commit_callbacks(execute=True):
        person_record_status(
            actor=None,
            person_id=world.holder.pk,
            status=LifeStatus.DECEASED,
            on=date(2026, 11, 30),
            reason="民政死亡数据",
        )
    ran = job_run_next(kinds=[DELIVER_CHANGES_NOW])
    assert ran is not None and ran.result == {"delivered": 0, "failed_partners": 1}
    partner = Partner.objects.get(pk=world.hospital.pk)
    assert partner.webhook_next_attempt_at is not None
    # The periodic job retries once the backoff is over; the change is sent then.
    later = partner.webhook_next_attempt_at + timedelta(seconds=1)
    assert webhooks_deliver(now=later).delivered == 1
    assert len(_Receiver.received) == 1
