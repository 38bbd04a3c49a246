"""The person page shows the person's universal-registration status, coverage per scheme
group and their unresolved findings (masked, in the viewer's scope)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.test import Client

from shebao.accounts.choices import Purpose
from shebao.errors import PermissionDenied
from shebao.identity.masking import mask_id_number, mask_name
from shebao.registration.models import Finding
from shebao.registration.selectors import person_registration
from tests.factories import make_person
from tests.integration.registration.world import (
    PHOENIX,
    RegWorld,
    build_world,
    run_comparison_now,
)
from tests.integration.web.conftest import logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def reg(settings, tmp_path: Path) -> RegWorld:  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path / "data"
    world = build_world(tmp_path)
    run_comparison_now(world)
    return world


def _page(client: Client, pk: int) -> str:
    stated = client.post(f"/persons/{pk}/", {"purpose": Purpose.SURVEY, "purpose_note": ""})
    assert stated.status_code == 302
    response = client.get(f"/persons/{pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_an_uninsured_person_shows_status_coverage_and_findings(reg: RegWorld) -> None:
    page = _page(logged_in(reg.clerk), reg.uninsured.pk)
    assert "全民参保登记" in page and "应参未参" in page
    for label in ("应参未参养老保险", "未参加医疗保险"):
        assert label in page
    findings = Finding.objects.filter(person=reg.uninsured, status="open")
    assert findings.count() == 2
    for finding in findings:
        assert f"/registration/findings/{finding.pk}/" in page
    assert mask_id_number(reg.uninsured.id_number) in page
    assert reg.uninsured.id_number not in page and reg.uninsured.name not in page


def test_a_registered_person_shows_their_schemes(reg: RegWorld) -> None:
    page = _page(logged_in(reg.clerk), reg.insured.pk)
    assert 'data-testid="registration-state">已登记<' in page
    assert "170" in page and "390" in page and "已参保" in page
    assert "无未处理的比对问题" in page


def test_findings_are_masked_even_where_the_source_name_differs(reg: RegWorld) -> None:
    page = _page(logged_in(reg.clerk), reg.misnamed.pk)
    assert "姓名与公安人口库不一致" in page
    assert mask_name("张玮") in page and "张玮" not in page


def test_scope_is_enforced_and_uncompared_persons_say_so(reg: RegWorld) -> None:
    with pytest.raises(PermissionDenied):
        person_registration(actor=reg.other_clerk, person_id=reg.uninsured.pk)
    newcomer = make_person(PHOENIX, name="周敏", birth=date(1999, 9, 9), household="H9")
    assert person_registration(actor=reg.clerk, person_id=newcomer.pk) is None
    assert "尚未比对" in _page(logged_in(reg.clerk), newcomer.pk)


def test_a_death_recorded_after_the_comparison_ends_registration_at_once(reg: RegWorld) -> None:
    """The page said 已登记 beside 死亡 until the next comparison ran."""
    from shebao.registry.choices import LifeStatus
    from shebao.registry.models import Person

    Person.objects.filter(pk=reg.insured.pk).update(
        life_status=LifeStatus.DECEASED, status_date=date(2026, 11, 2)
    )
    view = person_registration(actor=reg.clerk, person_id=reg.insured.pk)
    assert view is not None
    assert view.state == "not_applicable" and view.state_label == "不适用（死亡）"
    assert {c.status_label for c in view.coverage} == {"不适用"}
    page = _page(logged_in(reg.clerk), reg.insured.pk)
    assert 'data-testid="registration-state">不适用（死亡）<' in page
