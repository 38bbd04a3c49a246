"""The citizen self-service page (/cards/self-service/), through Django's test client.

Knowing a person's ID number, name and the phone's last four digits is not enough: a
one-time code goes to the phone on record (the `file` SMS backend writes it to
<data dir>/sms/outbox.jsonl), and only the right code, within five minutes and five tries,
opens the person's cards and applications. The online application mails the card to the
address on record with the phone on record (neither can be changed here). Failed identity
checks are limited per person and per client address (a trusted proxy's X-Forwarded-For
only when configured), so one village hall's connection does not lock out the village."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import Application, ApplicationStatus, Card
from shebao.cards.services.self_service import client_address
from shebao.identity.masking import mask_id_number, mask_name, mask_phone
from shebao.registry.models import Household, Person
from shebao.sms.backends import outbox_path
from shebao.sms.models import OneTimeCode
from tests.factories import make_card
from tests.integration.cards.issuing_world import World, build_world, good_photo
from tests.integration.cards.self_service_steps import URL, last_code, request_code, verify
from tests.unit.cards.samples import photo

pytestmark = pytest.mark.django_db

ADDRESS = "湖北省鄂州市鄂城区凤凰街道凤凰村3组12号"


@pytest.fixture(autouse=True)
def _own_outbox(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path


def _with_address(person: Person, address: str = ADDRESS) -> Person:
    household = Household.objects.create(
        number=f"H{person.pk:08d}", region_id=person.hukou_region_id, address=address
    )
    Person.objects.filter(pk=person.pk).update(household=household)
    person.refresh_from_db()
    return person


def _identify(client: Client, person: Person, **extra: str) -> tuple[int, str]:
    page = client.post(
        URL,
        {
            "id_number": person.id_number,
            "name": person.name,
            "phone_last4": person.phone[-4:],
            **extra,
        },
    )
    return page.status_code, page.content.decode()


def _code(client: Client, code: str) -> tuple[int, str]:
    page = client.post(URL, {"action": "verify", "code": code})
    return page.status_code, page.content.decode()


def _apply(client: Client, world: World, **extra: object) -> tuple[int, str]:
    page = client.post(URL, {"action": "apply_online", "bank": str(world.bank.pk), **extra})
    return page.status_code, page.content.decode()


def test_the_code_goes_to_the_phone_on_record_and_opens_the_page() -> None:
    world = build_world(2)
    person = _with_address(world.people[0])
    card = make_card(person, custodian=None, status="active", bank=world.bank)
    assert reverse("cards:self_service") == URL
    client = Client()
    status, body = _identify(client, person)
    # Knowing the three facts only sends a code; nothing of the person is shown yet.
    assert status == 200 and "验证码已发送至" in body and mask_phone(person.phone) in body
    assert "卡号" not in body and "提交网上申领" not in body and "临时挂失" not in body
    (line,) = outbox_path().read_text(encoding="utf-8").splitlines()
    message = json.loads(line)
    assert message["phone"] == person.phone and "5 分钟内有效" in message["text"]
    assert {"phone", "text", "time"} == set(message)
    code = last_code(person.phone)
    # At rest only a salted hash.
    stored = OneTimeCode.objects.get()
    assert code not in (stored.code_hash, stored.salt) and len(stored.code_hash) == 64
    # Acting before the code is accepted is refused.
    refused = client.post(URL, {"action": "report_loss", "card": card.pk})
    assert refused.status_code == 400
    wrong = "000000" if code != "000000" else "111111"
    status, body = _code(client, wrong)
    assert status == 400 and "验证码不正确，还可尝试 4 次" in body
    assert "卡号" not in body
    status, body = _code(client, code)
    assert status == 200, body
    assert mask_name(person.name) in body and mask_id_number(person.id_number) in body
    assert person.id_number not in body and card.card_number not in body and "正常" in body
    assert "手机号码和邮寄地址以登记信息为准" in body
    audited = AuditEvent.objects.filter(target_type="card_self_service")
    assert audited.filter(action=AuditAction.VIEW_PERSON, person_id=person.pk).count() == 1
    assert audited.filter(action=AuditAction.DENIED, person_id=person.pk).count() == 1
    assert AuditEvent.objects.filter(target_type="sms_code", person_id=person.pk).count() == 1
    # The code is used up: a second use is refused.
    request_code(Client(), world.people[1])  # another person's code meanwhile
    assert _code(Client(), code)[0] == 400
    # Report a temporary loss; another visitor cannot.
    reported = client.post(URL, {"action": "report_loss", "card": card.pk})
    assert "已办理临时挂失" in reported.content.decode()
    card.refresh_from_db()
    assert card.status == CardStatus.TEMPORARY_LOSS
    stranger = Client().post(URL, {"action": "report_loss", "card": card.pk})
    assert stranger.status_code == 400


def test_a_code_expires_after_five_minutes_and_allows_five_tries() -> None:
    world = build_world(2)
    person = world.people[0]
    client = Client()
    _identify(client, person)
    code = last_code(person.phone)
    OneTimeCode.objects.update(
        created_at=timezone.now() - timedelta(minutes=6),
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    status, body = _code(client, code)
    assert status == 400 and "验证码已过期" in body
    # A new code (the minute between codes has passed); five wrong tries use it up.
    client = Client()
    _identify(client, person)
    code = last_code(person.phone)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        assert f"还可尝试 {left} 次" in _code(client, wrong)[1]
    assert "错误次数过多" in _code(client, wrong)[1]
    status, body = _code(client, code)
    assert status == 400 and "错误次数过多" in body
    assert "卡号" not in body


def test_resending_a_code_is_throttled() -> None:
    world = build_world(1)
    person = world.people[0]
    client = Client()
    _identify(client, person)
    first = last_code(person.phone)
    again = client.post(URL, {"action": "resend"})
    assert again.status_code == 429 and "秒后再重新获取" in again.content.decode()
    assert OneTimeCode.objects.count() == 1
    # A minute later a new code is sent, and it (not the first) is the one the page wants.
    OneTimeCode.objects.update(created_at=timezone.now() - timedelta(seconds=61))
    again = client.post(URL, {"action": "resend"})
    assert again.status_code == 200 and "验证码已重新发送" in again.content.decode()
    second = last_code(person.phone)
    if second != first:
        assert _code(client, first)[0] == 400
    assert _code(client, second)[0] == 200


def test_failed_checks_are_limited_per_person_not_per_village_hall() -> None:
    world = build_world(3)
    victim, neighbour, third = world.people
    hall = Client(REMOTE_ADDR="10.1.2.3")
    for _ in range(5):
        status, body = _identify(hall, victim, phone_last4="9999")
        assert status == 400 and "身份信息核验未通过" in body
    # The guessed person is locked, from any address, even with the right digits.
    status, body = _identify(Client(REMOTE_ADDR="10.9.9.9"), victim)
    assert status == 429 and "该身份证号码核验失败次数过多" in body
    # Everybody else in the same hall goes on.
    assert _identify(hall, neighbour)[0] == 200
    # Many failures from one address lock that address only.
    for i in range(25):
        hall.post(URL, {"id_number": f"42070419800101{i:04d}", "name": "某", "phone_last4": "1"})
    status, body = _identify(hall, third)
    assert status == 429 and "本机核验失败次数过多" in body
    assert _identify(Client(REMOTE_ADDR="10.1.2.4"), third)[0] == 200


def test_the_client_address_comes_from_a_trusted_proxy_only(settings) -> None:  # type: ignore[no-untyped-def]
    assert client_address(remote_addr="1.2.3.4", forwarded_for="5.6.7.8", trusted=[]) == "1.2.3.4"
    trusted = ["10.0.0.0/8"]
    assert (
        client_address(remote_addr="10.0.0.1", forwarded_for="9.9.9.9, 5.6.7.8", trusted=trusted)
        == "5.6.7.8"
    )
    assert (
        client_address(remote_addr="10.0.0.1", forwarded_for="5.6.7.8, 10.0.0.2", trusted=trusted)
        == "5.6.7.8"
    )
    assert client_address(remote_addr="1.2.3.4", forwarded_for="5.6.7.8", trusted=trusted) == (
        "1.2.3.4"
    )
    # Behind the proxy, the village hall's many citizens are many clients.
    world = build_world(2)
    settings.SHEBAO_TRUSTED_PROXIES = ["127.0.0.1"]
    proxy = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    for i in range(30):
        proxy.post(URL, {"id_number": f"42070419800101{i:04d}", "name": "某", "phone_last4": "1"})
    assert _identify(proxy, world.people[0])[0] == 429
    other = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert _identify(other, world.people[0])[0] == 200
    # Without the setting, a forged header changes nothing: all count as the one address.
    settings.SHEBAO_TRUSTED_PROXIES = []
    for i in range(30):
        forged = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        forged.post(URL, {"id_number": f"42070419800102{i:04d}", "name": "某", "phone_last4": "1"})
    forged = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert _identify(forged, world.people[1])[0] == 429


def test_online_application_to_the_address_and_phone_on_record() -> None:
    world = build_world(2)
    person = _with_address(world.people[0])
    client = Client()
    status, body = _apply(client, world)
    assert status == 400 and "请先核验身份" in body
    body = verify(client, person)
    assert "网上申领社会保障卡（邮寄到家）" in body and "农业银行鄂州分行" in body
    assert "邮储银行" not in body  # only the area's cooperating banks are offered
    assert ADDRESS not in body and "湖北省鄂州市" in body  # masked
    assert 'name="postal_address"' not in body and 'name="phone"' not in body
    # Typed-in address or phone are ignored: the record's are used.
    status, body = _apply(client, world, postal_address="北京市某处", phone="13900000000")
    assert status == 200, body
    assert "网上申领已受理，符合制卡条件" in body
    app = Application.objects.get()
    assert (app.channel, app.status, app.postal_delivery) == (
        "online",
        ApplicationStatus.ELIGIBLE,
        True,
    )
    assert (app.postal_address, app.phone) == (ADDRESS, person.phone)
    assert (app.person_id, app.bank_id, app.photo_source) == (person.pk, world.bank.pk, "police")
    audited = AuditEvent.objects.get(target_type="card_application", target_id=str(app.pk))
    assert (audited.action, audited.user_id, audited.person_id) == (
        AuditAction.CREATE,
        None,
        person.pk,
    )
    assert "网上申领（邮寄到家）" in body and "提交网上申领" not in body
    status, body = _apply(client, world)
    assert status == 400 and "不能重复申领" in body
    assert Application.objects.count() == 1


def test_without_an_address_on_record_the_page_says_where_to_go() -> None:
    world = build_world(1)
    person = world.people[0]
    client = Client()
    body = verify(client, person)
    assert "登记信息中没有住址" in body and "提交网上申领" not in body
    assert "户籍所在地村（居）委会或社保卡服务网点" in body
    status, body = _apply(client, world)
    assert status == 400 and not Application.objects.exists()


def test_online_application_with_an_uploaded_photo_and_a_bad_one() -> None:
    world = build_world(2)
    person = _with_address(world.people[1])
    client = Client()
    verify(client, person)
    status, body = _apply(
        client, world, photo=SimpleUploadedFile("me.jpg", photo(200, 240), "image/jpeg")
    )
    assert status == 200 and "不符合制卡条件" in body
    bad = Application.objects.get()
    assert (bad.status, bad.reasons) == (ApplicationStatus.INELIGIBLE, "PHOTO_QUALITY")
    assert "提交网上申领" in body
    status, body = _apply(
        client, world, photo=SimpleUploadedFile("me.jpg", good_photo(4), "image/jpeg")
    )
    assert status == 200 and "符合制卡条件" in body
    good = Application.objects.exclude(pk=bad.pk).get()
    assert (good.status, good.photo_source) == (ApplicationStatus.ELIGIBLE, "upload")


def test_online_applications_are_limited_per_person() -> None:
    world = build_world(1)
    person = _with_address(world.people[0])
    client = Client()
    verify(client, person)
    for _ in range(10):  # ten refused applications (bad photo)
        status, _ = _apply(
            client, world, photo=SimpleUploadedFile("me.jpg", photo(200, 240), "image/jpeg")
        )
        assert status == 200
    status, body = _apply(client, world)
    assert status == 429 and "操作过于频繁" in body
    assert not Application.objects.filter(status=ApplicationStatus.ELIGIBLE).exists()
    assert Card.objects.count() == 0
