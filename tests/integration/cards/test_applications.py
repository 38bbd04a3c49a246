"""Applications through the database: collective files, every eligibility reason, the
journey up the chain, ineligible rows back down and their correction, the village counter
and online applications."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from shebao.accounts.models import User
from shebao.cards.domain.eligibility import Reason
from shebao.cards.models import (
    Application,
    ApplicationBatch,
    ApplicationBatchStatus,
    ApplicationStatus,
)
from shebao.cards.selectors.issuing import application_batches_visible, applications_visible
from shebao.cards.services.applications import (
    CounterInput,
    application_batch_forward,
    application_batch_upload,
    application_counter_create,
    application_online_submit,
    application_resubmit,
    counter_batch_submit,
    ineligible_xlsx,
)
from shebao.errors import PermissionDenied, ShebaoError, ValidationFailed
from shebao.registry.models import Person
from tests.factories import id_number_for, make_card, make_person
from tests.integration.cards.issuing_world import (
    VILLAGE,
    World,
    build_world,
    collective_csv,
    good_photo,
    photo_zip,
    row_for,
)
from tests.unit.cards.samples import photo

pytestmark = pytest.mark.django_db


def _upload(world: World, rows: list[list[str]], photos: dict[str, bytes] | None = None, **kw):  # type: ignore[no-untyped-def]
    return application_batch_upload(
        actor=world.school_clerk,
        file=SimpleUploadedFile("申领.csv", collective_csv(rows)),
        photo_zip=SimpleUploadedFile("photos.zip", photo_zip(photos)) if photos else None,
        **kw,
    )


def _by_row(batch_id: int) -> dict[int, Application]:
    return {a.row: a for a in Application.objects.filter(batch_id=batch_id)}


def test_collective_file_checked_row_by_row_and_forwarded_up_the_chain() -> None:
    world = build_world(3)
    rows = [row_for(p) for p in world.people]
    photos = {f"{p.id_number}.jpg": good_photo(i) for i, p in enumerate(world.people)}
    result = _upload(world, rows, photos)
    assert (result.rows, result.eligible, result.ineligible) == (3, 3, 0)
    batch = result.batch
    assert batch.status == ApplicationBatchStatus.AT_SUBMITTER
    assert all(a.bank_id == world.bank.pk for a in Application.objects.filter(batch=batch))
    assert {a.photo_entry for a in Application.objects.filter(batch=batch)} == set(photos)

    # unit → department → district card office → card centre, each level holding it in turn
    with pytest.raises(PermissionDenied):
        application_batch_forward(actor=world.department_clerk, batch_id=batch.pk)
    batch = application_batch_forward(actor=world.school_clerk, batch_id=batch.pk)
    assert (batch.holder, batch.status) == (
        world.department,
        ApplicationBatchStatus.AT_INTERMEDIATE,
    )
    batch = application_batch_forward(actor=world.department_clerk, batch_id=batch.pk)
    assert (batch.holder, batch.status) == (world.district, ApplicationBatchStatus.AT_DISTRICT)
    batch = application_batch_forward(actor=world.district_clerk, batch_id=batch.pk)
    assert (batch.holder, batch.status) == (world.centre, ApplicationBatchStatus.AT_CARD_CENTRE)
    with pytest.raises(ShebaoError) as exc:
        application_batch_forward(actor=world.centre_clerk, batch_id=batch.pk)
    assert exc.value.code == "BATCH_INVALID_TRANSITION"

    # every level it passed still sees it; a village and a bank do not
    for user in (
        world.school_clerk,
        world.department_clerk,
        world.district_clerk,
        world.centre_clerk,
    ):
        assert application_batches_visible(user).filter(pk=batch.pk).exists()
    for user in (world.village_clerk, world.town_clerk, world.bank_clerk):
        assert not application_batches_visible(user).filter(pk=batch.pk).exists()


def test_every_eligibility_reason_through_the_database(tmp_path: Path) -> None:
    world = build_world(8)
    p = world.people
    Person.objects.filter(pk=p[1].pk).update(life_status="deceased", status_date=date(2024, 1, 1))
    make_card(p[4], custodian=None, status="active")
    old = make_person(VILLAGE, name="钱老汉", birth=date(1950, 1, 1), phone="13900000001")
    unknown = id_number_for("420704", date(1991, 2, 3), 777)
    programme = tmp_path / "test.toml"
    programme.write_text(
        'name = "t"\nhukou_region_prefixes = ["420704"]\n'
        '[[scope]]\nrule = "hukou_age_limit"\nmax_age = 60\n',
        encoding="utf-8",
    )
    rows = [
        ["农业银行", "甲", "男", "420704199001011234", "13800000001", ""],  # 1 INVALID_ID
        ["农业银行", "乙", "男", unknown, "13800000002", ""],  # 2 NOT_IN_POPULATION
        row_for(p[1]),  # 3 DECEASED
        row_for(p[2]),  # 4 NO_PHOTO
        row_for(p[3]),  # 5 PHOTO_QUALITY
        row_for(p[4]),  # 6 HAS_CARD
        row_for(p[5]),  # 7 eligible
        row_for(p[5]),  # 8 DUPLICATE_APPLICATION (row 7)
        row_for(p[6], phone="12345"),  # 9 INVALID_PHONE
        row_for(p[7], bank="邮储银行"),  # 10 BANK_NOT_COOPERATING
        row_for(old),  # 11 OUT_OF_SCOPE
    ]
    photos = {f"{x.id_number}.jpg": good_photo(i) for i, x in enumerate([*p, old]) if x != p[2]}
    photos[f"{p[3].id_number}.jpg"] = photo(300, 400)
    photos[f"{unknown}.jpg"] = good_photo(99)
    photos["420704199001011234.jpg"] = good_photo(98)
    result = _upload(world, rows, photos, programme=str(programme))
    apps = _by_row(result.batch.pk)
    expected = {
        1: "INVALID_ID",
        2: "NOT_IN_POPULATION",
        3: "DECEASED",
        4: "NO_PHOTO",
        5: "PHOTO_QUALITY",
        6: "HAS_CARD",
        7: "",
        8: "DUPLICATE_APPLICATION",
        9: "INVALID_PHONE",
        10: "BANK_NOT_COOPERATING",
        11: "OUT_OF_SCOPE",
    }
    assert {row: a.reasons for row, a in apps.items()} == expected
    assert {r.value for r in Reason} == {v for v in expected.values() if v}
    assert apps[7].status == ApplicationStatus.ELIGIBLE
    assert all(apps[r].status == ApplicationStatus.INELIGIBLE for r in expected if r != 7)
    assert "人口库登记为已死亡" in apps[3].messages
    assert "358×441" in apps[5].messages
    assert "与第 7 行的身份证号码相同" in apps[8].messages
    assert "年满60周岁" in apps[11].messages
    assert (result.eligible, result.ineligible) == (1, 10)


def test_open_application_elsewhere_is_a_duplicate() -> None:
    world = build_world(2)
    photos = {f"{x.id_number}.jpg": good_photo(i) for i, x in enumerate(world.people)}
    first = _upload(world, [row_for(world.people[0])], photos)
    assert first.eligible == 1
    second = _upload(world, [row_for(world.people[0]), row_for(world.people[1])], photos)
    apps = _by_row(second.batch.pk)
    assert apps[1].reasons == "DUPLICATE_APPLICATION"
    assert first.batch.code in apps[1].messages
    assert apps[2].status == ApplicationStatus.ELIGIBLE


def test_ineligible_rows_go_back_as_xlsx_and_a_corrected_file_resubmits_them(
    tmp_path: Path,
) -> None:
    world = build_world(2)
    p = world.people
    photos = {f"{x.id_number}.jpg": good_photo(i) for i, x in enumerate(p)}
    first = _upload(world, [row_for(p[0], phone="123"), row_for(p[1])], photos)
    bad = list(Application.objects.filter(batch=first.batch, status=ApplicationStatus.INELIGIBLE))
    assert len(bad) == 1
    path = tmp_path / "back.xlsx"
    path.write_bytes(ineligible_xlsx(bad))
    sheet = load_workbook(path).worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:7] == [
        "行号",
        "银行",
        "姓名",
        "性别",
        "身份证号(18位)",
        "联系电话",
        "工作证号(学籍号)",
    ]
    assert values[1][4] == p[0].id_number and "联系电话无效" in values[1][7]

    corrected = _upload(world, [row_for(p[0], phone="13912345678")], photos)
    assert corrected.resubmitted == 1
    # the corrected row joins the original batch (issue #10, item 12), not a new one
    assert corrected.batch.pk == first.batch.pk
    old = Application.objects.get(pk=bad[0].pk)
    new = Application.objects.get(batch=corrected.batch, resubmission_of=old)
    assert old.status == ApplicationStatus.RESUBMITTED
    assert new.status == ApplicationStatus.ELIGIBLE
    # the unit's first batch no longer counts the corrected row as ineligible
    first.batch.refresh_from_db()
    assert (first.batch.eligible_count, first.batch.ineligible_count) == (2, 0)


def test_recheck_on_arrival_at_the_card_centre() -> None:
    world = build_world(2)
    photos = {f"{x.id_number}.jpg": good_photo(i) for i, x in enumerate(world.people)}
    batch = _upload(world, [row_for(p) for p in world.people], photos).batch
    for user in (world.school_clerk, world.department_clerk):
        application_batch_forward(actor=user, batch_id=batch.pk)
    # died while the batch travelled
    Person.objects.filter(pk=world.people[0].pk).update(
        life_status="deceased", status_date=date(2025, 1, 1)
    )
    batch = application_batch_forward(actor=world.district_clerk, batch_id=batch.pk)
    apps = _by_row(batch.pk)
    assert apps[1].reasons == "DECEASED" and apps[2].status == ApplicationStatus.ELIGIBLE
    assert (batch.eligible_count, batch.ineligible_count) == (1, 1)


def _to_card_centre(world: World, batch_id: int, *clerks: User) -> ApplicationBatch:
    batch = None
    for user in clerks:
        batch = application_batch_forward(actor=user, batch_id=batch_id)
    assert batch is not None
    return batch


def test_recheck_on_arrival_looks_at_the_stored_zip_photos() -> None:
    world = build_world(3)
    p = world.people
    photos = {f"{x.id_number}.jpg": good_photo(i) for i, x in enumerate(p)}
    batch = _upload(world, [row_for(x) for x in p], photos).batch
    assert batch.eligible_count == 3
    # While the batch travels, the stored archive loses one photo and another entry grows
    # past the size limit (an archive damaged or replaced in storage).
    stored = Path(batch.photo_zip.path)
    changed = {k: v for k, v in photos.items() if k != f"{p[0].id_number}.jpg"}
    big = photo(noise=60.0, quality=100)
    assert len(big) > 20 * 1024
    changed[f"{p[1].id_number}.jpg"] = big
    stored.write_bytes(photo_zip(changed))
    batch = _to_card_centre(
        world, batch.pk, world.school_clerk, world.department_clerk, world.district_clerk
    )
    apps = _by_row(batch.pk)
    assert apps[1].reasons == "NO_PHOTO"
    assert apps[2].reasons == "PHOTO_QUALITY" and "20" in apps[2].messages
    assert apps[3].status == ApplicationStatus.ELIGIBLE
    assert (batch.eligible_count, batch.ineligible_count) == (1, 2)


def test_recheck_on_arrival_without_stored_photos_skips_the_photo_rules() -> None:
    world = build_world(2)
    batch = _upload(world, [row_for(x) for x in world.people]).batch
    assert batch.eligible_count == 2  # no ZIP sent: photo rules not applied on upload
    batch = _to_card_centre(
        world, batch.pk, world.school_clerk, world.department_clerk, world.district_clerk
    )
    assert batch.eligible_count == 2


def test_recheck_on_arrival_looks_at_the_police_photo_as_it_is_now() -> None:
    world = build_world(3)
    p = world.people
    withdrawn = _counter(world, p[0], use_police_photo=True)
    replaced = _counter(world, p[1], use_police_photo=True)
    uploaded = _counter(world, p[2], photo=good_photo(9))
    assert {a.status for a in (withdrawn, replaced, uploaded)} == {ApplicationStatus.ELIGIBLE}
    Person.objects.filter(pk=p[0].pk).update(photo="")
    p[1].photo.save(f"{p[1].pk}-new.jpg", ContentFile(photo(200, 240)), save=True)
    batch = counter_batch_submit(actor=world.village_clerk)
    batch = _to_card_centre(world, batch.pk, world.town_clerk, world.district_clerk)
    got = {a.pk: a for a in Application.objects.filter(batch=batch)}
    assert got[withdrawn.pk].reasons == "NO_PHOTO"
    assert got[replaced.pk].reasons == "PHOTO_QUALITY"
    assert got[uploaded.pk].status == ApplicationStatus.ELIGIBLE


def _counter(world: World, person: Person, **kw) -> Application:  # type: ignore[no-untyped-def]
    data = CounterInput(
        id_number=kw.pop("id_number", person.id_number),
        name=person.name,
        bank_id=kw.pop("bank_id", world.bank.pk),
        phone=kw.pop("phone", "13912345678"),
        signed_form=kw.pop("signed_form", b"%PDF-1.4 signed"),
        **kw,
    )
    return application_counter_create(actor=world.village_clerk, data=data)


def test_village_counter_application_with_police_photo_or_upload() -> None:
    world = build_world(4)
    p = world.people
    a = _counter(world, p[0], use_police_photo=True)
    assert (a.status, a.photo_source, a.channel) == (
        ApplicationStatus.ELIGIBLE,
        "police",
        "counter",
    )
    assert a.signed_form.name.endswith(".pdf")
    b = _counter(world, p[1], photo=good_photo(5))
    assert (b.status, b.photo_source) == (ApplicationStatus.ELIGIBLE, "upload")
    assert a.batch_id == b.batch_id  # the village's open batch
    c = _counter(world, p[2], photo=photo(200, 200))
    assert c.reasons == "PHOTO_QUALITY"
    d = _counter(world, p[3], bank_id=world.other_bank.pk, use_police_photo=True)
    assert d.reasons == "BANK_NOT_COOPERATING"
    with pytest.raises(ValidationFailed) as exc:
        _counter(world, p[3], signed_form=None)
    assert exc.value.code == "SIGNED_FORM_REQUIRED"
    with pytest.raises(PermissionDenied):
        application_counter_create(
            actor=world.school_clerk,
            data=CounterInput(
                p[3].id_number, p[3].name, world.bank.pk, "13912345678", signed_form=b"x"
            ),
        )

    # correct and resubmit the photo failure
    fixed = application_resubmit(
        actor=world.village_clerk,
        application_id=c.pk,
        data=CounterInput(
            p[2].id_number,
            p[2].name,
            world.bank.pk,
            "13912345678",
            photo=good_photo(7),
            signed_form=b"x",
        ),
    )
    assert fixed.status == ApplicationStatus.ELIGIBLE and fixed.resubmission_of_id == c.pk
    assert Application.objects.get(pk=c.pk).status == ApplicationStatus.RESUBMITTED

    batch = counter_batch_submit(actor=world.village_clerk)
    assert (batch.holder, batch.status) == (world.town, ApplicationBatchStatus.AT_INTERMEDIATE)
    assert applications_visible(world.town_clerk).filter(pk=a.pk).exists()
    # the next counter application opens a new batch
    e = _counter(world, p[3], use_police_photo=True)
    assert e.batch_id != batch.pk


def test_no_police_photo_is_no_photo() -> None:
    world = build_world(1, police_photos=False)
    a = _counter(world, world.people[0], use_police_photo=True)
    assert a.reasons == "NO_PHOTO"


def test_online_application_with_postal_delivery() -> None:
    world = build_world(2)
    p = world.people[0]
    app = application_online_submit(
        id_number=p.id_number,
        name=p.name,
        phone="13912345678",
        bank_id=world.bank.pk,
        postal_address="湖北省鄂州市鄂城区凤凰街道凤凰村3组12号",
    )
    assert (app.channel, app.status, app.postal_delivery) == ("online", "eligible", True)
    assert app.region_id == VILLAGE and app.batch_id is None
    with pytest.raises(ValidationFailed) as exc:
        application_online_submit(
            id_number=world.people[1].id_number,
            name="x",
            phone="13912345678",
            bank_id=world.bank.pk,
            postal_address="",
        )
    assert exc.value.code == "POSTAL_ADDRESS_REQUIRED"
    again = application_online_submit(
        id_number=p.id_number,
        name=p.name,
        phone="13912345678",
        bank_id=world.bank.pk,
        postal_address="湖北省鄂州市鄂城区凤凰街道凤凰村3组12号",
    )
    assert again.reasons == "DUPLICATE_APPLICATION"
    assert applications_visible(world.centre_clerk).filter(pk=app.pk).exists()
