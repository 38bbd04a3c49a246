"""The citizen self-service page's online application (网上申领, postal delivery), through
Django's test client: only after the identity check, with a cooperating bank and an address,
audited, rate-limited with the identity checks, shown in the progress lookup, and not offered
again while the application is open."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent
from shebao.cards.models import Application, ApplicationStatus
from shebao.identity.masking import mask_name
from shebao.registry.models import Person
from tests.integration.cards.issuing_world import World, build_world, good_photo
from tests.unit.cards.samples import photo

pytestmark = pytest.mark.django_db

URL = "/cards/self-service/"
ADDRESS = "湖北省鄂州市鄂城区凤凰街道凤凰村3组12号"


def _identify(client: Client, person: Person) -> str:
    page = client.post(
        URL,
        {"id_number": person.id_number, "name": person.name, "phone_last4": person.phone[-4:]},
    )
    assert page.status_code == 200
    return page.content.decode()


def _apply(client: Client, world: World, **extra: object) -> tuple[int, str]:
    data: dict[str, object] = {
        "action": "apply_online",
        "bank": str(world.bank.pk),
        "phone": "13912345678",
        "postal_address": ADDRESS,
        **extra,
    }
    page = client.post(URL, data)
    return page.status_code, page.content.decode()


def test_online_application_from_the_self_service_page() -> None:
    world = build_world(2)
    person = world.people[0]
    assert reverse("cards:self_service") == URL
    client = Client()
    # Not offered, and refused, before the identity check.
    assert "提交网上申领" not in client.get(URL).content.decode()
    status, body = _apply(client, world)
    assert status == 400 and "请先核验身份" in body
    assert not Application.objects.exists()

    body = _identify(client, person)
    assert "网上申领社会保障卡（邮寄到家）" in body and "农业银行鄂州分行" in body
    assert "邮储银行" not in body  # only the area's cooperating banks are offered
    assert person.id_number not in body

    status, body = _apply(client, world, postal_address="")
    assert status == 400 and not Application.objects.exists()

    status, body = _apply(client, world)
    assert status == 200, body
    assert "网上申领已受理，符合制卡条件" in body
    app = Application.objects.get()
    assert (app.channel, app.status, app.postal_delivery, app.postal_address) == (
        "online",
        ApplicationStatus.ELIGIBLE,
        True,
        ADDRESS,
    )
    assert (app.person_id, app.bank_id, app.photo_source) == (person.pk, world.bank.pk, "police")
    audited = AuditEvent.objects.get(target_type="card_application", target_id=str(app.pk))
    assert (audited.action, audited.user_id, audited.person_id) == (
        AuditAction.CREATE,
        None,
        person.pk,
    )
    # The progress lookup shows it; the form is not offered again while it is open.
    assert "网上申领（邮寄到家）" in body and "符合制卡条件" in body
    assert "提交网上申领" not in body
    status, body = _apply(client, world)
    assert status == 400 and "不能重复申领" in body
    assert Application.objects.count() == 1
    assert mask_name(person.name) in client.get(URL).content.decode()


def test_online_application_with_an_uploaded_photo_and_a_bad_one() -> None:
    world = build_world(2)
    person = world.people[1]
    client = Client()
    _identify(client, person)
    status, body = _apply(
        client, world, photo=SimpleUploadedFile("me.jpg", photo(200, 240), "image/jpeg")
    )
    assert status == 200 and "不符合制卡条件" in body
    bad = Application.objects.get()
    assert (bad.status, bad.reasons) == (ApplicationStatus.INELIGIBLE, "PHOTO_QUALITY")
    # Refused, so the form is offered again; a good photo goes through.
    assert "提交网上申领" in body
    status, body = _apply(
        client, world, photo=SimpleUploadedFile("me.jpg", good_photo(4), "image/jpeg")
    )
    assert status == 200 and "符合制卡条件" in body
    good = Application.objects.exclude(pk=bad.pk).get()
    assert (good.status, good.photo_source) == (ApplicationStatus.ELIGIBLE, "upload")


def test_online_applications_count_towards_the_address_limit() -> None:
    world = build_world(1)
    person = world.people[0]
    client = Client()
    _identify(client, person)  # one identity check
    for _ in range(9):  # nine refused applications (bad photo) from the same address
        status, _ = _apply(
            client, world, photo=SimpleUploadedFile("me.jpg", photo(200, 240), "image/jpeg")
        )
        assert status == 200
    status, body = _apply(client, world)
    assert status == 429 and "操作过于频繁" in body
    assert not Application.objects.filter(status=ApplicationStatus.ELIGIBLE).exists()
