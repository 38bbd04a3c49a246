"""The registration API for partner systems: findings (scoped, masked, paginated, filtered)
and a person's registration status by ID number (audited with the purpose)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from shebao.accounts.choices import AuditAction, Purpose, Role
from shebao.accounts.models import AuditEvent, User
from shebao.accounts.services import api_token_create
from shebao.identity.masking import mask_id_number
from shebao.registration.models import Finding
from tests.factories import make_user
from tests.integration.registration.world import (
    PHOENIX,
    RegWorld,
    build_world,
    run_comparison_now,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tmp_path: Path) -> RegWorld:
    w = build_world(tmp_path)
    run_comparison_now(w)
    return w


def _get(user: User, path: str, **params: Any) -> Any:
    _, raw = api_token_create(actor=user, owner=user, name="合作系统")
    return Client().get(f"/api/v1/registration{path}", params, HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_findings_are_scoped_masked_and_paginated(world: RegWorld) -> None:
    response = _get(world.clerk, "/findings", page_size=2)
    assert response.status_code == 200
    body = response.json()
    mine = Finding.objects.filter(region_id=PHOENIX, status="open")
    assert body["total"] == mine.count() > 2
    assert len(body["items"]) == 2 and body["page"] == 1
    ids = {item["id"] for item in body["items"]}
    rest = _get(world.clerk, "/findings", page_size=2, page=2).json()
    assert not ids & {item["id"] for item in rest["items"]}
    everything = _get(world.clerk, "/findings", page_size=500).json()["items"]
    assert {i["id"] for i in everything} == set(mine.values_list("pk", flat=True))
    assert all("*" in i["id_number"] for i in everything)
    assert world.uninsured.id_number not in response.content.decode()
    only = _get(world.clerk, "/findings", category="NAME_MISMATCH").json()["items"]
    assert only and {i["category"] for i in only} == {"NAME_MISMATCH"}
    theirs = _get(world.other_clerk, "/findings", page_size=500).json()["items"]
    assert not {i["id"] for i in theirs} & {i["id"] for i in everything}


def test_findings_query_errors_and_roles(world: RegWorld) -> None:
    bad = _get(world.clerk, "/findings", category="NOPE", page_size=0)
    assert bad.status_code == 422
    fields = {d["field"] for d in bad.json()["error"]["details"]}
    assert fields == {"category", "page_size"}
    leader = make_user(Role.LEADER_VIEWER, world.village_org, username="leader")
    refused = _get(leader, "/findings")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FINDINGS_FORBIDDEN"


def test_registration_status_by_id_number_is_audited(world: RegWorld) -> None:
    response = _get(world.clerk, f"/persons/{world.uninsured.id_number}", purpose=Purpose.SURVEY)
    assert response.status_code == 200
    body = response.json()
    assert body["id_number"] == mask_id_number(world.uninsured.id_number)
    assert body["compared"] and body["state"] == "uninsured" and body["pension_eligible"]
    assert {c["group"]: c["scheme_code"] for c in body["coverage"]} == {
        "养老保险": "",
        "医疗保险": "",
    }
    assert {f["category"] for f in body["findings"]} == {"PENSION_UNINSURED", "MEDICAL_UNINSURED"}
    event = AuditEvent.objects.get(
        action=AuditAction.API_LOOKUP_PERSON, person_id=world.uninsured.pk
    )
    assert event.purpose == Purpose.SURVEY and event.user_id == world.clerk.pk
    # Out of scope: refused; no purpose: refused.
    other = _get(world.other_clerk, f"/persons/{world.uninsured.id_number}", purpose="survey")
    assert other.status_code == 403
    assert _get(world.clerk, f"/persons/{world.uninsured.id_number}").status_code == 422
