"""A civil-affairs death file reaches the registry when it is imported: a row whose ID number
and name both match a registered person records the death (with its batch as the source) and
cancels the person's cards (through card_life, audited); a row that matches less than exactly
changes nothing (a clerk works it as a finding). A clerk can revoke a recorded death with a
reason; the person page shows the status's basis, the person's cards (masked number, status,
history) and applications."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from shebao.accounts.choices import AuditAction, OrganisationKind, Purpose, Role
from shebao.accounts.models import AuditEvent
from shebao.cards.domain.lifecycle import CardEvent, CardStatus
from shebao.cards.models import Application, Card, CardHistory
from shebao.errors import PermissionDenied, ValidationFailed
from shebao.intake.formats.kinds import SourceKind
from shebao.intake.services import import_batch_submit
from shebao.jobs.services import job_run_next
from shebao.registry.choices import LifeStatus
from shebao.registry.models import Person, PersonChange
from shebao.registry.services import person_death_revoke
from tests.factories import make_card, make_org, make_user
from tests.integration.cards.custody_world import Chain, build_chain

pytestmark = pytest.mark.django_db

DIED = date(2026, 10, 3)


@pytest.fixture
def chain() -> Chain:
    return build_chain(people=4)


def _death_file(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["公民身份号码,姓名,死亡日期", *(",".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _import(chain: Chain, path: Path) -> int:
    department = make_org(OrganisationKind.DEPARTMENT, "420700", name="鄂州市民政局")
    clerk = make_user(Role.DEPARTMENT_CLERK, department)
    batch, created = import_batch_submit(actor=clerk, path=path, kind=SourceKind.DEATH)
    assert created
    job = job_run_next()
    assert job is not None and job.status == "succeeded", job.error if job else None
    return batch.pk


def _status(card: Card) -> CardStatus:
    card.refresh_from_db()
    return CardStatus(card.status)


def test_an_exact_death_record_reaches_the_registry_and_cancels_the_card(
    chain: Chain, tmp_path: Path
) -> None:
    dead, misspelt, _alive, gone = chain.people
    card = make_card(dead, custodian=None, status=CardStatus.ACTIVE.value, bank=chain.bank)
    other = make_card(misspelt, custodian=None, status=CardStatus.ACTIVE.value, bank=chain.bank)
    Person.objects.filter(pk=gone.pk).update(
        life_status=LifeStatus.DECEASED, status_date=DIED - timedelta(days=400)
    )
    path = _death_file(
        tmp_path / "民政死亡.csv",
        [
            (dead.id_number, dead.name, DIED.isoformat()),
            (misspelt.id_number, misspelt.name[:-1] + "某", DIED.isoformat()),
            ("420704193001010018", "无此人", DIED.isoformat()),
            (gone.id_number, gone.name, DIED.isoformat()),
        ],
    )
    batch_id = _import(chain, path)

    dead.refresh_from_db()
    assert (dead.life_status, dead.status_date) == (LifeStatus.DECEASED, DIED)
    change = PersonChange.objects.get(person=dead, field="life_status")
    assert change.source == f"intake:{batch_id}"
    assert f"导入批次#{batch_id}" in change.reason and "第1行" in change.reason
    assert _status(card) is CardStatus.CANCELLED
    history = CardHistory.objects.get(card=card)
    assert (history.event, history.channel) == (CardEvent.CANCEL_ON_DEATH, "system")
    assert AuditEvent.objects.filter(
        target_type="card", action=AuditAction.UPDATE, detail__event=CardEvent.CANCEL_ON_DEATH.value
    ).exists()
    assert AuditEvent.objects.filter(
        target_type="person", person_id=dead.pk, action=AuditAction.UPDATE
    ).exists()
    # Less than exact: nothing changes (the comparison's finding is for a clerk).
    misspelt.refresh_from_db()
    assert misspelt.life_status == LifeStatus.ALIVE and _status(other) is CardStatus.ACTIVE
    gone.refresh_from_db()
    assert gone.status_date == DIED - timedelta(days=400)  # already recorded: unchanged
    summary = AuditEvent.objects.get(
        target_type="import_batch", target_id=str(batch_id), detail__has_key="deaths_recorded"
    )
    assert summary.detail["deaths_recorded"] == {
        "recorded": 1,
        "already_deceased": 1,
        "name_differs": 1,
        "not_found": 1,
        "date_refused": 0,
        "revoked_before": 0,
    }


def test_a_death_in_the_future_or_before_birth_is_not_recorded(
    chain: Chain, tmp_path: Path
) -> None:
    person = chain.people[0]
    later = timezone.localdate() + timedelta(days=3)
    _import(chain, _death_file(tmp_path / "d.csv", [(person.id_number, person.name, str(later))]))
    person.refresh_from_db()
    assert person.life_status == LifeStatus.ALIVE


def test_a_clerk_revokes_a_wrong_death_with_a_reason(chain: Chain, tmp_path: Path) -> None:
    person = chain.people[1]
    card = make_card(person, custodian=None, status=CardStatus.ACTIVE.value, bank=chain.bank)
    _import(chain, _death_file(tmp_path / "d.csv", [(person.id_number, person.name, "2026-10-03")]))
    assert _status(card) is CardStatus.CANCELLED
    with pytest.raises(ValidationFailed, match="须填写原因"):
        person_death_revoke(actor=chain.village_clerk, person_id=person.pk, reason=" ")
    with pytest.raises(PermissionDenied):
        person_death_revoke(actor=chain.bank_clerk, person_id=person.pk, reason="本人到场核实")
    person_death_revoke(
        actor=chain.village_clerk, person_id=person.pk, reason="本人到村委会核实仍健在"
    )
    person.refresh_from_db()
    assert (person.life_status, person.status_date) == (LifeStatus.ALIVE, None)
    revoked = PersonChange.objects.filter(person=person, field="life_status").latest("at")
    assert (revoked.reason, revoked.changed_by) == ("本人到村委会核实仍健在", chain.village_clerk)
    assert _status(card) is CardStatus.CANCELLED  # a cancelled card is final
    # A later file with the same record does not record it again without a clerk.
    later_file = [
        (person.id_number, person.name, "2026-10-03"),
        ("420704193001010018", "无此人", "2026-11-01"),
    ]
    _import(chain, _death_file(tmp_path / "d2.csv", later_file))
    person.refresh_from_db()
    assert person.life_status == LifeStatus.ALIVE


def test_the_person_page_shows_cards_applications_and_the_deaths_source(
    chain: Chain, tmp_path: Path
) -> None:
    person = chain.people[0]
    card = make_card(person, custodian=None, status=CardStatus.ACTIVE.value, bank=chain.bank)
    Application.objects.create(
        channel="online", person=person, id_number=person.id_number, name=person.name,
        region_id=person.hukou_region_id, status="ineligible", reasons="PHOTO_QUALITY",
        messages="照片不符合制卡要求",
    )  # fmt: skip
    batch_id = _import(
        chain, _death_file(tmp_path / "d.csv", [(person.id_number, person.name, "2026-10-03")])
    )
    client = Client()
    client.force_login(chain.village_clerk)
    client.post(f"/persons/{person.pk}/", {"purpose": Purpose.CARD_SERVICE, "purpose_note": ""})
    page = client.get(f"/persons/{person.pk}/").content.decode()
    assert "社会保障卡" in page and "申领记录" in page
    assert card.card_number not in page and card.card_number[-4:] in page
    assert 'data-testid="person-card-status">注销<' in page
    assert CardEvent.CANCEL_ON_DEATH.label in page and "系统自动" in page
    assert "照片不符合制卡要求" in page
    assert f"导入批次#{batch_id}" in page and "撤销死亡登记" in page
    # Revoke through the page: a reason is required.
    refused = client.post(f"/persons/{person.pk}/revoke-death/", {"reason": "错"})
    assert refused.status_code == 200 and "撤销原因至少 4 个字" in refused.content.decode()
    done = client.post(
        f"/persons/{person.pk}/revoke-death/", {"reason": "本人到场核实仍健在"}, follow=True
    )
    assert "已撤销死亡登记" in done.content.decode()
    person.refresh_from_db()
    assert person.life_status == LifeStatus.ALIVE
