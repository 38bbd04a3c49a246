"""A small issuing world for the application, production and banking tests: the 鄂州 chain
(card centre → 鄂城区 card office → education department → school; → 凤凰街道 → 凤凰村), a
cooperating bank with a branch, a bank that does not cooperate here, a card vendor, their
clerks, and people of 凤凰村 with police photos."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import date

from django.core.files.base import ContentFile

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.cards.models import CooperatingBank
from shebao.geo.models import Region
from shebao.registry.models import Person
from tests.factories import make_org, make_person, make_regions, make_user
from tests.unit.cards.samples import photo

CITY = "420700"
ECHENG = "420704"
TOWN = "420704001"
VILLAGE = "420704001201"
COLLECTIVE_HEADER = ["银行", "姓名", "性别", "身份证号(18位)", "联系电话", "工作证号(学籍号)"]
NAMES = ["李建国", "王秀英", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴芳"]


@dataclass
class World:
    centre: Organisation
    district: Organisation
    department: Organisation
    school: Organisation
    town: Organisation
    village: Organisation
    bank: Organisation
    branch: Organisation
    other_bank: Organisation
    vendor: Organisation
    centre_clerk: User
    district_clerk: User
    department_clerk: User
    school_clerk: User
    town_clerk: User
    village_clerk: User
    bank_clerk: User
    branch_clerk: User
    other_bank_clerk: User
    vendor_clerk: User
    people: list[Person] = field(default_factory=list)


def good_photo(seed: int = 1) -> bytes:
    return photo(seed=seed)


def build_world(people: int = 6, *, police_photos: bool = True) -> World:
    make_regions()
    centre = make_org(OrganisationKind.CARD_CENTRE, CITY, name="鄂州市社会保障卡管理中心")
    district = make_org(
        OrganisationKind.DISTRICT_CARD_OFFICE, ECHENG, parent=centre, name="鄂城区卡办"
    )
    department = make_org(OrganisationKind.DEPARTMENT, ECHENG, parent=district, name="鄂城区教育局")
    school = make_org(
        OrganisationKind.SCHOOL,
        ECHENG,
        parent=department,
        name="凤凰小学",
        credit_code="12420704MB0000001X",
    )
    town = make_org(OrganisationKind.TOWN_OFFICE, TOWN, parent=district, name="凤凰街道办事处")
    village = make_org(
        OrganisationKind.VILLAGE_COMMITTEE, VILLAGE, parent=town, name="凤凰村村委会"
    )
    bank = make_org(OrganisationKind.BANK, CITY, name="农业银行鄂州分行")
    branch = make_org(OrganisationKind.BANK_BRANCH, ECHENG, parent=bank, name="农业银行鄂城支行")
    other_bank = make_org(OrganisationKind.BANK, CITY, name="邮储银行鄂州分行")
    vendor = make_org(OrganisationKind.CARD_VENDOR, CITY, name="某制卡厂商")
    CooperatingBank.objects.create(region=Region.objects.get(code=CITY), bank=bank)
    persons = [
        make_person(
            VILLAGE,
            name=NAMES[i % len(NAMES)],
            birth=date(1975 + i % 30, 3, 8),
            phone=f"1381234{i:04d}",
        )
        for i in range(people)
    ]
    if police_photos:
        for i, person in enumerate(persons):
            person.photo.save(f"{person.pk}.jpg", ContentFile(good_photo(i + 1)), save=True)
    return World(
        centre=centre,
        district=district,
        department=department,
        school=school,
        town=town,
        village=village,
        bank=bank,
        branch=branch,
        other_bank=other_bank,
        vendor=vendor,
        centre_clerk=make_user(Role.CARD_CENTRE_OPERATOR, centre),
        district_clerk=make_user(Role.DISTRICT_CLERK, district),
        department_clerk=make_user(Role.DEPARTMENT_CLERK, department),
        school_clerk=make_user(Role.EMPLOYER_CLERK, school),
        town_clerk=make_user(Role.TOWN_CLERK, town),
        village_clerk=make_user(Role.VILLAGE_CLERK, village),
        bank_clerk=make_user(Role.BANK_OPERATOR, bank),
        branch_clerk=make_user(Role.BANK_OPERATOR, branch),
        other_bank_clerk=make_user(Role.BANK_OPERATOR, other_bank),
        vendor_clerk=make_user(Role.CARD_CENTRE_OPERATOR, vendor),
        people=persons,
    )


def collective_csv(rows: list[list[str]]) -> bytes:
    lines = [",".join(COLLECTIVE_HEADER)] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def row_for(
    person: Person, *, bank: str = "农业银行", phone: str = "", work: str = ""
) -> list[str]:
    return [
        bank,
        person.name,
        "男" if person.gender == "M" else "女",
        person.id_number,
        phone or person.phone or "13812340000",
        work,
    ]


def photo_zip(photos: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in photos.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def produce_all(world: World) -> list[int]:
    """The card centre forms production batches of everything ready, sends them to the
    vendor, and the vendor reports every card made. Returns the ids of the cards made."""

    from shebao.cards.models import Application
    from shebao.cards.services.exchange import open_exchange_file
    from shebao.cards.services.production import (
        production_batch_export,
        production_batches_form,
        production_results_import,
        vendor_order_read,
        vendor_results_file,
    )

    made: list[int] = []
    for batch in production_batches_form(actor=world.centre_clerk):
        batch, sealed = production_batch_export(
            actor=world.centre_clerk, batch_id=batch.pk, vendor=world.vendor
        )
        rows = vendor_order_read(open_exchange_file(sealed).content).rows
        production_results_import(
            actor=world.vendor_clerk,
            data=vendor_results_file(
                batch, [(r["社保卡号"], r["社会保障号码"], True, "") for r in rows]
            ),
        )
        made.extend(
            Application.objects.filter(production_batch=batch, card__isnull=False).values_list(
                "card_id", flat=True
            )
        )
    return made


def open_all_accounts(world: World) -> int:
    """The bank downloads every account-opening request and reports every account opened
    (activation needs it). Returns the number of accounts opened."""
    import csv as _csv
    import io as _io

    from shebao.cards.models import AccountOpeningRequest
    from shebao.cards.services.banking import (
        account_request_export,
        account_results_import,
        bank_results_file,
    )
    from shebao.cards.services.exchange import open_exchange_file

    opened = 0
    for request in AccountOpeningRequest.objects.exclude(status="completed").order_by("pk"):
        request, sealed = account_request_export(actor=world.bank_clerk, request_id=request.pk)
        content = open_exchange_file(sealed).content.decode()
        ids = [r["社会保障号码"] for r in _csv.DictReader(_io.StringIO(content))]
        account_results_import(
            actor=world.bank_clerk,
            data=bank_results_file(
                request,
                [(i, True, f"6228{request.pk:06d}{k:08d}", "") for k, i in enumerate(ids)],
            ),
        )
        opened += len(ids)
    return opened


def deliver_to_village_and_activate(world: World, card_numbers: list[str]) -> None:
    """Card centre → district → town → village, each handover confirmed in full; the
    holders collect and sign; the bank branch activates the cards."""
    from shebao.cards.models import Card
    from shebao.cards.services.card_life import card_activate
    from shebao.cards.services.custody import (
        PickupInput,
        card_pickup,
        handover_confirm,
        handover_create,
    )

    text = "\n".join(card_numbers)
    for sender, receiver in (
        (world.centre_clerk, world.district_clerk),
        (world.district_clerk, world.town_clerk),
        (world.town_clerk, world.village_clerk),
    ):
        assert receiver.organisation is not None
        handover = handover_create(
            actor=sender, to_organisation_id=receiver.organisation.pk, card_numbers=text
        )
        handover_confirm(actor=receiver, handover_id=handover.pk, arrived=text)
    for card in Card.objects.filter(card_number__in=card_numbers).select_related("person"):
        card_pickup(
            actor=world.village_clerk,
            data=PickupInput(card.card_number, card.person.id_number, signed=True),
        )
        card_activate(actor=world.branch_clerk, card_id=card.pk)
