"""The admin shows the registry read-only and masked, and regions read-only."""

from __future__ import annotations

import pytest
from django.test import Client

from shebao.accounts.choices import Role
from shebao.identity.masking import mask_id_number
from tests.factories import make_person, make_regions, make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def admin_client() -> Client:
    user = make_user(Role.SYSTEM_ADMIN, None, username="root_admin")
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    client = Client()
    client.force_login(user)
    return client


def test_person_pages_mask_personal_data_and_refuse_edits() -> None:
    make_regions()
    person = make_person("420704001201", name="张三丰", phone="13812345678")
    client = admin_client()
    listing = client.get("/admin/registry/person/")
    assert listing.status_code == 200
    text = listing.content.decode()
    assert person.id_number not in text and "张三丰" not in text
    assert mask_id_number(person.id_number) in text
    detail = client.get(f"/admin/registry/person/{person.pk}/change/")
    assert detail.status_code == 200
    body = detail.content.decode()
    assert person.id_number not in body and "13812345678" not in body and "张三丰" not in body
    assert client.get("/admin/registry/person/add/").status_code == 403
    assert client.post(f"/admin/registry/person/{person.pk}/delete/").status_code == 403
    # Searching needs the full ID number, and finds the person.
    found = client.get("/admin/registry/person/", {"q": person.id_number})
    assert mask_id_number(person.id_number) in found.content.decode()


def test_region_pages_are_read_only() -> None:
    make_regions()
    client = admin_client()
    listing = client.get("/admin/geo/region/", {"q": "凤凰"})
    assert listing.status_code == 200
    assert "420704001" in listing.content.decode()
    assert client.get("/admin/geo/region/add/").status_code == 403
    for path in ("/admin/registry/enrollment/", "/admin/registry/employer/",
                 "/admin/registry/household/", "/admin/registry/bankaccount/",
                 "/admin/registry/scheme/"):  # fmt: skip
        assert client.get(path).status_code == 200, path
