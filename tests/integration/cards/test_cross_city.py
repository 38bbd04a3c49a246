"""异地通办: a holder of 鄂州's card served at a 黄石 counter, present with the card and the
ID card: the services that protect the card are allowed and audited; the rest, a wrong ID
number, another province's card and another bank's card are refused (issue #11 §6)."""

from __future__ import annotations

import pytest

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import AuditEvent
from shebao.cards.models import Card
from shebao.cards.selectors.custody import card_by_number
from shebao.cards.services.cross_city import card_cross_city_find, card_cross_city_service
from shebao.errors import PermissionDenied, ValidationFailed
from shebao.geo.models import Region
from tests.factories import make_card, make_org, make_person, make_regions, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup() -> dict[str, object]:
    make_regions()
    Region.objects.create(
        code="420200",
        name="黄石市",
        level=2,
        parent_id="420000",
        prefix="4202",
        full_name="湖北省黄石市",
    )
    Region.objects.create(
        code="420202", name="黄石港区", level=3, parent_id="420200", prefix="420202",
        full_name="湖北省黄石市黄石港区",
    )  # fmt: skip
    ezhou = make_org(OrganisationKind.CARD_CENTRE, "420700", name="鄂州市社会保障卡管理中心")
    huangshi = make_org(OrganisationKind.CARD_CENTRE, "420200", name="黄石市社会保障卡管理中心")
    hall = make_org(OrganisationKind.DISTRICT_CARD_OFFICE, "420202", parent=huangshi)
    clerk = make_user(Role.DISTRICT_CLERK, hall)
    holder = make_person("420704001201", name="李建国")
    card = make_card(holder, custodian=None, status="active")
    Card.objects.filter(pk=card.pk).update(issuing_region_id="420700")
    card.refresh_from_db()
    return {"clerk": clerk, "card": card, "holder": holder, "ezhou": ezhou}


def test_the_home_scope_still_hides_the_card(setup: dict[str, object]) -> None:
    card = setup["card"]
    assert isinstance(card, Card)
    assert card_by_number(actor=setup["clerk"], card_number=card.card_number) is None  # type: ignore[arg-type]


def test_a_loss_report_and_pin_reset_for_a_holder_present_with_the_card(
    setup: dict[str, object],
) -> None:
    card, clerk, holder = setup["card"], setup["clerk"], setup["holder"]
    assert isinstance(card, Card)
    number, id_number = card.card_number, holder.id_number  # type: ignore[attr-defined]
    card_cross_city_service(
        actor=clerk,
        card_number=number,
        holder_id_number=id_number,
        action="reset_pin",  # type: ignore[arg-type]
    )
    lost = card_cross_city_service(
        actor=clerk,
        card_number=number,
        holder_id_number=id_number,
        action="loss",  # type: ignore[arg-type]
    )
    assert lost.status == "lost"
    views = AuditEvent.objects.filter(action="view_person", person_id=card.person_id)
    assert views.count() == 2
    assert all(e.detail["cross_city"] and e.detail["home"] == "420700" for e in views)
    assert all(e.purpose == "card_service" for e in views)


def test_cancel_and_reissue_stay_with_the_home_city(setup: dict[str, object]) -> None:
    card, clerk, holder = setup["card"], setup["clerk"], setup["holder"]
    assert isinstance(card, Card)
    for action in ("cancel", "replace", "renew", "activate"):
        with pytest.raises(ValidationFailed) as caught:
            card_cross_city_service(
                actor=clerk,  # type: ignore[arg-type]
                card_number=card.card_number,
                holder_id_number=holder.id_number,  # type: ignore[attr-defined]
                action=action,
            )
        assert caught.value.code == "CROSS_CITY_NOT_ALLOWED"
    card.refresh_from_db()
    assert card.status == "active"


def test_a_wrong_id_number_is_refused_and_audited(setup: dict[str, object]) -> None:
    card, clerk = setup["card"], setup["clerk"]
    assert isinstance(card, Card)
    other = make_person("420704001202", name="王秀英")
    with pytest.raises(PermissionDenied) as caught:
        card_cross_city_find(
            actor=clerk,  # type: ignore[arg-type]
            card_number=card.card_number,
            holder_id_number=other.id_number,
        )
    assert caught.value.code == "CROSS_CITY_MISMATCH"
    denied = AuditEvent.objects.get(action="denied", target_type="card")
    assert denied.detail == {"cross_city": True, "reason": "CROSS_CITY_MISMATCH"}
    with pytest.raises(ValidationFailed):
        card_cross_city_find(actor=clerk, card_number=card.card_number, holder_id_number="")  # type: ignore[arg-type]


def test_another_provinces_card_is_refused(setup: dict[str, object]) -> None:
    clerk = setup["clerk"]
    Region.objects.create(
        code="430000", name="湖南省", level=1, parent_id=None, prefix="43", full_name="湖南省"
    )
    Region.objects.create(
        code="430100",
        name="长沙市",
        level=2,
        parent_id="430000",
        prefix="4301",
        full_name="湖南省长沙市",
    )
    person = make_person("430100", name="张伟")
    card = make_card(person, custodian=None, status="active")
    with pytest.raises(PermissionDenied) as caught:
        card_cross_city_find(
            actor=clerk,  # type: ignore[arg-type]
            card_number=card.card_number,
            holder_id_number=person.id_number,
        )
    assert caught.value.code == "CROSS_CITY_OTHER_PROVINCE"
