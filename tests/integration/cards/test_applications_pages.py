"""The issuing pages through Django's test client: upload and batch status with masked rows
and the XLSX of ineligible rows, forwarding, the village counter, the card centre's
production page with the encrypted vendor file, and the bank work queue."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from shebao.cards.models import AccountOpeningRequest, ApplicationBatch, Card, ProductionBatch
from shebao.cards.services.exchange import MAGIC
from tests.factories import PASSWORD
from tests.integration.cards.issuing_world import (
    build_world,
    collective_csv,
    good_photo,
    photo_zip,
    row_for,
)

pytestmark = pytest.mark.django_db


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_unit_upload_batch_page_masks_and_offers_ineligible_xlsx() -> None:
    world = build_world(2)
    p = world.people
    client = _client(world.school_clerk)
    page = client.get(reverse("cards:issuing_batches"))
    assert page.status_code == 200 and "上传集体申领文件" in page.content.decode()
    photos = {f"{x.id_number}.jpg": good_photo(i) for i, x in enumerate(p)}
    response = client.post(
        reverse("cards:issuing_batches"),
        {
            "file": SimpleUploadedFile(
                "a.csv", collective_csv([row_for(p[0]), row_for(p[1], phone="1")])
            ),
            "photos": SimpleUploadedFile("p.zip", photo_zip(photos)),
        },
    )
    batch = ApplicationBatch.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{batch.pk}/")
    html = client.get(response["Location"]).content.decode()
    assert "联系电话无效" in html and p[0].id_number not in html and p[0].id_number[:6] in html
    xlsx = client.get(reverse("cards:issuing_batch_ineligible", args=[batch.pk]))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    # the village cannot see it; the school forwards it to its department
    assert (
        _client(world.village_clerk)
        .get(reverse("cards:issuing_batch", args=[batch.pk]))
        .status_code
        == 403
    )
    client.post(reverse("cards:issuing_batch_forward", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.holder == world.department
    html = _client(world.department_clerk).get(reverse("cards:issuing_batches")).content.decode()
    assert batch.code in html and "待本单位处理" in html


def test_village_counter_page_registers_and_submits() -> None:
    world = build_world(1)
    person = world.people[0]
    client = _client(world.village_clerk)
    page = client.get(reverse("cards:issuing_counter"))
    assert page.status_code == 200 and "农业银行鄂州分行" in page.content.decode()
    response = client.post(
        reverse("cards:issuing_counter"),
        {
            "id_number": person.id_number,
            "name": person.name,
            "bank": str(world.bank.pk),
            "phone": "13912345678",
            "photo_choice": "police",
            "signed_form": SimpleUploadedFile("form.pdf", b"%PDF-1.4"),
        },
    )
    assert response.status_code == 302
    html = client.get(reverse("cards:issuing_counter")).content.decode()
    assert "符合制卡条件" in html and person.id_number not in html
    client.post(reverse("cards:issuing_counter_submit"))
    assert ApplicationBatch.objects.get().holder == world.town
    assert _client(world.school_clerk).get(reverse("cards:issuing_counter")).status_code == 403


def test_card_centre_forms_batches_and_exports_and_the_bank_downloads() -> None:
    world = build_world(1)
    person = world.people[0]
    from shebao.cards.services.applications import application_online_submit

    application_online_submit(
        id_number=person.id_number,
        name=person.name,
        phone="13912345678",
        bank_id=world.bank.pk,
        postal_address="凤凰街道凤凰村1组1号",
    )
    centre = _client(world.centre_clerk)
    assert (
        "尚未组批的申领：<strong>1</strong>"
        in centre.get(reverse("cards:issuing_production")).content.decode()
    )
    centre.post(reverse("cards:issuing_production_form"))
    batch = ProductionBatch.objects.get()
    exported = centre.post(
        reverse("cards:issuing_production_export", args=[batch.pk]), {"vendor": world.vendor.pk}
    )
    assert exported.status_code == 200 and exported.content.startswith(MAGIC)
    assert Card.objects.get().card_number.encode() not in exported.content

    bank = _client(world.branch_clerk)
    html = bank.get(reverse("cards:issuing_accounts")).content.decode()
    request = AccountOpeningRequest.objects.get()
    assert request.code in html
    download = bank.post(reverse("cards:issuing_accounts_download", args=[request.pk]))
    assert download.status_code == 200 and download.content.startswith(MAGIC)
    html = bank.get(reverse("cards:issuing_accounts")).content.decode()
    assert "农业银行鄂城支行" in html and "应完成日期" in html
    assert (
        request.code
        not in _client(world.other_bank_clerk)
        .get(reverse("cards:issuing_accounts"))
        .content.decode()
    )


def test_batch_page_queries_do_not_grow_with_rows(django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    world = build_world(12, police_photos=False)
    client = _client(world.school_clerk)
    from shebao.cards.services.applications import application_batch_upload

    small = application_batch_upload(
        actor=world.school_clerk,
        file=SimpleUploadedFile("a.csv", collective_csv([row_for(p) for p in world.people[:2]])),
    ).batch
    large = application_batch_upload(
        actor=world.school_clerk,
        file=SimpleUploadedFile(
            "b.csv", collective_csv([row_for(p, phone="1") for p in world.people])
        ),
    ).batch
    client.get(reverse("cards:issuing_batch", args=[small.pk]))
    with django_assert_max_num_queries(14):
        client.get(reverse("cards:issuing_batch", args=[small.pk]))
    with django_assert_max_num_queries(14):
        client.get(reverse("cards:issuing_batch", args=[large.pk]))
    with django_assert_max_num_queries(14):
        client.get(reverse("cards:issuing_batches"))
