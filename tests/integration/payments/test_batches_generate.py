"""Batches generated from the system's data (待遇领取 正常发放), and the programmes seeded as
configuration."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shebao.errors import ValidationFailed
from shebao.payments.models import PaymentProgramme, PaymentRow
from shebao.payments.services.batches import payment_batch_generate
from shebao.payments.services.programmes import PROGRAMME_CODES, payment_programmes_ensure
from shebao.registry.models import Person
from tests.integration.payments.batches_world import BatchWorld, build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

BENEFIT_HEADER = ("公民身份号码", "姓名", "险种代码", "待遇状态")


@pytest.fixture
def world(tmp_path: Path) -> BatchWorld:
    return build_world(tmp_path, people=5)


def test_programmes_are_seeded_once_with_their_offices(world: BatchWorld) -> None:
    assert PaymentProgramme.objects.count() == len(PROGRAMME_CODES) == 11
    again = payment_programmes_ensure(offices={}, default=world.office)
    assert (again.created, again.existing) == (0, 11)
    pension = PaymentProgramme.objects.get(code="PENSION_110")
    assert pension.paying_office == world.office and pension.stops_in_prison
    assert pension.scheme_id == "110" and pension.period_form == "month"
    subsidy = PaymentProgramme.objects.get(code="HUIMIN_HUINONG")
    assert subsidy.paying_office == world.finance and subsidy.scheme_id is None
    assert PaymentProgramme.objects.get(code="FLEXIBLE_INSURANCE").period_form == "quarter"


def test_generate_pays_everyone_whose_benefit_is_paid_normally(world: BatchWorld) -> None:
    p = world.people
    Person.objects.filter(pk=p[3].pk).update(life_status="deceased", status_date=date(2026, 1, 9))
    world.import_department(
        "待遇领取.csv",
        BENEFIT_HEADER,
        [
            [p[0].id_number, p[0].name, "170", "正常发放"],
            [p[1].id_number, p[1].name, "170", "暂停发放"],
            [p[2].id_number, p[2].name, "110", "正常发放"],
            [p[3].id_number, p[3].name, "170", "正常发放"],
            [p[4].id_number, p[4].name, "170", "正常发放"],
        ],
    )
    programme = world.programme("PENSION_170")
    result = payment_batch_generate(
        actor=world.payer, programme_id=programme.pk, period="2026-03", amount_fen=21050
    )
    batch = result.batch
    assert result.created and batch.source == "generated"
    rows = {r.person_id: r for r in PaymentRow.objects.filter(batch=batch)}
    assert set(rows) == {p[0].pk, p[3].pk, p[4].pk}
    assert rows[p[3].pk].reasons == "DECEASED"  # benefit data says paid, the registry dead
    assert (batch.payable_count, batch.payable_fen) == (2, 42100)
    again = payment_batch_generate(
        actor=world.payer, programme_id=programme.pk, period="2026-03", amount_fen=21050
    )
    assert not again.created and again.batch.pk == batch.pk


def test_generate_needs_benefit_data_a_scheme_and_an_amount(world: BatchWorld) -> None:
    with pytest.raises(ValidationFailed) as caught:
        payment_batch_generate(
            actor=world.payer, programme_id=world.programme().pk, period="2026-03", amount_fen=1
        )
    assert caught.value.code == "PAYMENT_GENERATE_NO_BENEFIT_DATA"
    with pytest.raises(ValidationFailed) as caught:
        payment_batch_generate(
            actor=world.payer, programme_id=world.programme().pk, period="2026-03"
        )
    assert caught.value.code == "PAYMENT_GENERATE_NO_AMOUNT"
    with pytest.raises(ValidationFailed) as caught:
        payment_batch_generate(
            actor=world.payer,
            programme_id=world.programme("TRAINING").pk,
            period="2026-03",
            amount_fen=100,
        )
    assert caught.value.code == "PAYMENT_GENERATE_NO_SCHEME"
    with pytest.raises(ValidationFailed) as caught:
        payment_batch_generate(
            actor=world.payer,
            programme_id=world.programme().pk,
            period="2026-03",
            amount_fen=1_000_001,
        )
    assert caught.value.code == "PAYMENT_GENERATE_AMOUNT_INVALID"
