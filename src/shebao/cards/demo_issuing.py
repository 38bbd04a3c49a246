"""Card-issuing demo data for the 鄂州 demo city (`shebao demo`), made through the real
services: cooperating banks; a unit's collective batch produced, sent to the vendor, its
results back and the bank accounts opened in part (some pending past the 15-working-day
deadline, one failure in the clean-up queue); a second unit batch on its way up at the
district card office; counter applications of the demo village (one ineligible, to correct);
an online application with postal delivery.

Call after the organisations and accounts exist:

    from shebao.cards.demo_issuing import issuing_demo_seed; issuing_demo_seed(city_code=city.code)
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Final

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from shebao.accounts.choices import OrganisationKind
from shebao.accounts.models import Organisation, User
from shebao.cards.models import (
    AccountOpeningRequest,
    Application,
    ApplicationBatch,
    CooperatingBank,
    ProductionBatch,
)
from shebao.cards.services.applications import (
    CounterInput,
    application_batch_forward,
    application_batch_upload,
    application_counter_create,
    application_online_submit,
)
from shebao.cards.services.banking import (
    account_request_export,
    account_results_import,
    bank_results_file,
)
from shebao.cards.services.exchange import open_exchange_file
from shebao.cards.services.production import (
    production_batch_export,
    production_batches_form,
    production_results_import,
    vendor_order_read,
    vendor_results_file,
)
from shebao.geo.models import Region
from shebao.identity.spreadsheet import safe_csv_writer
from shebao.registry.choices import LifeStatus
from shebao.registry.models import Person

__all__ = ["issuing_demo_seed"]

_UNIT_KINDS: Final[tuple[str, ...]] = (
    OrganisationKind.EMPLOYER,
    OrganisationKind.PUBLIC_INSTITUTION,
    OrganisationKind.SCHOOL,
)


def _photo(seed: int) -> bytes:
    """A card-standard photo (358×441, light plain background), drawn on the spot."""
    rng = np.random.default_rng(seed)
    h, w = 441, 358
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.full((h, w, 3), 245.0)
    img[((xx - w / 2) / (w * 0.2)) ** 2 + ((yy - h * 0.4) / (h * 0.21)) ** 2 < 1] = (225, 185, 160)
    img[(yy > h * 0.68) & (np.abs(xx - w / 2) < w * 0.36)] = (40, 50, 100)
    img += rng.normal(0, 4, img.shape) * (yy >= h * 0.18)[..., None]
    out = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=70)
    return out.getvalue()


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = safe_csv_writer(buffer, lineterminator="\n")
    writer.writerow(["银行", "姓名", "性别", "身份证号(18位)", "联系电话", "工作证号(学籍号)"])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _user(username: str) -> User | None:
    return User.objects.filter(username=username).select_related("organisation").first()


def issuing_demo_seed(*, city_code: str = "420700") -> dict[str, int]:
    """Idempotent: does nothing if the demo already has application batches."""
    if ApplicationBatch.objects.exists():
        return {"skipped": 1}
    centre = Organisation.objects.filter(code=f"KZX{city_code}").first()
    users = {k: _user(k) for k in ("centre", "district", "town", "village", "employer", "bank")}
    if centre is None or any(u is None or u.organisation is None for u in users.values()):
        return {"skipped": 1}
    city = Region.objects.get(code=city_code)
    for bank in Organisation.objects.filter(kind=OrganisationKind.BANK, region=city):
        CooperatingBank.objects.get_or_create(region=city, bank=bank)
    village_user, employer_user = users["village"], users["employer"]
    assert village_user is not None and employer_user is not None  # noqa: S101 - checked above
    village, unit = village_user.organisation, employer_user.organisation
    assert village is not None and unit is not None  # noqa: S101 - checked above
    district = users["district"].organisation if users["district"] else None
    # Units of the generated data have no superior configured: they report to the district
    # card office of the demo town, so their batches can travel up.
    Organisation.objects.filter(kind__in=_UNIT_KINDS, parent__isnull=True).update(parent=district)
    unit.refresh_from_db()

    people = list(
        Person.objects.filter(
            residence_region__code__startswith=village.region_id[:9],
            life_status=LifeStatus.ALIVE,
            cards__isnull=True,
        )
        .exclude(hukou_region_id=village.region_id)
        .order_by("pk")[:60]
    )
    neighbours = list(
        Person.objects.filter(hukou_region_id=village.region_id, life_status=LifeStatus.ALIVE)
        .exclude(pk__in=[p.pk for p in people])
        .order_by("pk")[:8]
    )
    if len(people) < 40 or len(neighbours) < 6:
        return {"skipped": 1}

    def rows(group: list[Person], start: int) -> list[list[str]]:
        out = []
        for i, p in enumerate(group):
            bank = "建设银行" if i == 3 else "农业银行" if i % 3 else "邮储银行"
            phone = "1380000" if i == 5 else f"139{start + i:08d}"
            out.append([bank, p.name, "男" if p.gender == "M" else "女", p.id_number, phone, ""])
        return out

    today = timezone.localdate()
    # 1. a unit's batch all the way through production and (part of) account opening
    first = application_batch_upload(
        actor=employer_user, file=SimpleUploadedFile("集体申领.csv", _csv(rows(people[:30], 0)))
    ).batch
    holder_users = {u.organisation_id: u for u in users.values() if u is not None}
    for _ in range(4):
        first.refresh_from_db()
        actor = holder_users.get(first.holder_id)
        if actor is None or first.status == "at_card_centre":
            break
        application_batch_forward(actor=actor, batch_id=first.pk)
    centre_user = users["centre"]
    assert centre_user is not None  # noqa: S101 - checked above
    formed = production_batches_form(actor=centre_user, today=today - timedelta(days=40))
    vendor = Organisation.objects.filter(kind=OrganisationKind.CARD_VENDOR).first()
    for batch in formed:
        batch, sealed = production_batch_export(actor=centre_user, batch_id=batch.pk, vendor=vendor)
        lines = vendor_order_read(open_exchange_file(sealed).content).rows
        results = [
            (r["社保卡号"], r["社会保障号码"], i != 2, "" if i != 2 else "芯片初始化失败")
            for i, r in enumerate(lines)
        ]
        production_results_import(actor=centre_user, data=vendor_results_file(batch, results))
    bank_user = users["bank"]
    assert bank_user is not None  # noqa: S101 - checked above
    for n, request in enumerate(AccountOpeningRequest.objects.order_by("pk")):
        sent = today - timedelta(days=35 if n % 2 == 0 else 5)
        request, sealed = account_request_export(
            actor=centre_user, request_id=request.pk, today=sent
        )
        lines = list(csv.DictReader(io.StringIO(open_exchange_file(sealed).content.decode())))
        done = lines[: max(1, len(lines) * 2 // 3)]
        bank_rows = [
            (
                r["社会保障号码"],
                i != 1,
                f"622848{request.pk:04d}{i:08d}" if i != 1 else "",
                "证件过期" if i == 1 else "",
            )
            for i, r in enumerate(done)
        ]
        account_results_import(
            actor=centre_user,
            data=bank_results_file(request, bank_rows),
            today=sent + timedelta(days=7),
        )
    # 2. a second batch on its way up
    second = application_batch_upload(
        actor=employer_user, file=SimpleUploadedFile("集体申领2.csv", _csv(rows(people[30:45], 30)))
    ).batch
    actor = holder_users.get(second.holder_id)
    if actor is not None:
        application_batch_forward(actor=actor, batch_id=second.pk)
    # 3. the village counter: photos uploaded, one too small to be a card photo
    bank_org = Organisation.objects.filter(code=f"BKABC{city_code}").first()
    for i, p in enumerate(neighbours[:5]):
        photo = _photo(i) if i != 4 else _photo(i)[:2000]
        application_counter_create(
            actor=village_user,
            data=CounterInput(
                id_number=p.id_number,
                name=p.name,
                bank_id=bank_org.pk if bank_org else None,
                phone=f"137{i:08d}",
                photo=photo,
                signed_form=b"%PDF-1.4 demo signed form",
            ),
        )
    # 4. online, with postal delivery
    p = neighbours[5]
    application_online_submit(
        id_number=p.id_number,
        name=p.name,
        phone="13600000001",
        bank_id=bank_org.pk if bank_org else None,
        postal_address=f"{village.region.full_name or village.name}8组16号",
        photo=_photo(99),
    )
    return {
        "application_batches": ApplicationBatch.objects.count(),
        "applications": Application.objects.count(),
        "production_batches": ProductionBatch.objects.count(),
        "account_requests": AccountOpeningRequest.objects.count(),
    }
