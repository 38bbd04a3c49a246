"""Card production (制卡): eligible applications form production batches (one per unit for
collective applications, one per town for individual ones), each card gets its card number
and card identification code from the issuing region's series, and the card rows are made in
bulk; the batch goes to the card vendor as an encrypted file and the vendor's results come
back the same way.

Numbers are allocated as a range per batch under a row lock on the region's `CardSeries`
(SELECT … FOR UPDATE), so concurrent batches never share one; the unique constraints on
`Card.card_number` and `Card.card_id_code` stand behind it.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import polars as pl
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.accounts.scoping import Scope
from shebao.cards.domain.codes import (
    card_id_code,
    validate_card_number,
)
from shebao.cards.domain.lifecycle import CardEvent, CardStatus
from shebao.cards.models import (
    Application,
    ApplicationBatchStatus,
    ApplicationChannel,
    ApplicationKind,
    ApplicationStatus,
    Card,
    CardReissue,
    ProductionBatch,
    ProductionBatchStatus,
)
from shebao.cards.services.applications import application_batches_mark_in_production
from shebao.cards.services.bulk import db_datetime, insert_frame, update_from_frame
from shebao.cards.services.card_life import cards_apply_event
from shebao.cards.services.exchange import (
    KIND_VENDOR_ORDER,
    KIND_VENDOR_RESULT,
    open_exchange_file,
    seal_exchange_file,
)
from shebao.cards.services.numbering import (
    CARD_VALID_YEARS,
    SPEC_VERSION,
    add_years,
    card_centre_for,
    card_numbers,
    card_numbers_allocate,
    issuing_region_of,
    unique_part,
)
from shebao.errors import NotFound, PermissionDenied, ShebaoError, ValidationFailed
from shebao.geo.models import Region
from shebao.identity.spreadsheet import safe_csv_writer
from shebao.vault.storage import encrypted_storage

__all__ = [
    "CARD_VALID_YEARS",
    "SPEC_VERSION",
    "VENDOR_ORDER_HEADER",
    "VENDOR_RESULT_HEADER",
    "VendorImportResult",
    "VendorOrder",
    "card_numbers",
    "card_numbers_allocate",
    "production_batch_export",
    "production_batch_form",
    "production_batch_vendor_file",
    "production_batches_form",
    "production_failed_remake",
    "production_reissues_form",
    "production_results_import",
    "vendor_order_read",
]

_CHUNK: Final[int] = 5_000
VENDOR_ORDER_HEADER: Final[tuple[str, ...]] = (
    "序号",
    "社保卡号",
    "卡识别码",
    "社会保障号码",
    "姓名",
    "性别",
    "发卡地区",
    "规范版本",
    "发卡日期",
    "卡有效期",
    "服务银行",
    "照片",
)
VENDOR_RESULT_HEADER: Final[tuple[str, ...]] = ("社保卡号", "社会保障号码", "制卡结果", "失败原因")
_MADE_WORDS: Final[frozenset[str]] = frozenset({"成功", "制卡成功", "1", "made", "ok"})
_FAILED_WORDS: Final[frozenset[str]] = frozenset({"失败", "制卡失败", "0", "failed"})


def _is_admin(actor: User) -> bool:
    return bool(actor.is_superuser or actor.has_role(Role.SYSTEM_ADMIN))


def _require_card_centre(actor: User) -> Organisation:
    org = actor.organisation
    if org is not None and org.kind == OrganisationKind.CARD_CENTRE:
        return org
    if _is_admin(actor) and org is not None:
        # An administrator forms batches for the card centre serving their area, so that
        # the cards start the custody chain where its handovers start.
        return card_centre_for(org.region_id) or org
    raise PermissionDenied("只有社保卡管理中心可以安排制卡", "NOT_CARD_CENTRE")


def _town_org(town_code: str) -> Organisation | None:
    return (
        Organisation.objects.filter(
            region_id=town_code, kind=OrganisationKind.TOWN_OFFICE, is_active=True
        )
        .order_by("pk")
        .first()
    )


def production_batch_form(
    *,
    actor: User,
    application_ids: Sequence[int],
    kind: ApplicationKind,
    organisation: Organisation | None,
    region: Region,
    today: date | None = None,
) -> ProductionBatch | None:
    """One production batch from these eligible applications (those already taken by another
    batch are skipped): the cards are numbered and created in bulk, status 待制卡, in the card
    centre's custody; the bank account-opening requests are prepared."""
    from shebao.cards.services.banking import account_requests_prepare

    card_centre = _require_card_centre(actor)
    today = today or timezone.localdate()
    issuing = issuing_region_of(card_centre)
    with transaction.atomic():
        rows: list[tuple[int, int, int | None]] = []
        for start in range(0, len(application_ids), _CHUNK):
            chunk = list(application_ids[start : start + _CHUNK])
            rows.extend(
                Application.objects.select_for_update(of=("self",))
                .filter(
                    pk__in=chunk,
                    status=ApplicationStatus.ELIGIBLE,
                    production_batch__isnull=True,
                    person__isnull=False,
                )
                .values_list("pk", "person_id", "bank_id")
            )
        if not rows:
            return None
        rows.sort()
        series, first_number, first_unique = card_numbers_allocate(region=issuing, count=len(rows))
        area = issuing.code[:6]
        batch = ProductionBatch.objects.create(
            code=f"ZK{area}{today:%Y%m%d}{first_number:08d}",
            kind=kind,
            organisation=organisation,
            region=region,
            issuing_region=issuing,
            card_centre=card_centre,
            card_count=len(rows),
            created_by=actor,
        )
        now = db_datetime(timezone.now())
        expires = add_years(today, CARD_VALID_YEARS)
        numbers = card_numbers(series, first_number, len(rows))
        insert_frame(
            Card,
            pl.DataFrame(
                {
                    "card_number": numbers,
                    "card_id_code": [
                        card_id_code(area, unique_part(first_unique + i)) for i in range(len(rows))
                    ],
                    "person_id": [r[1] for r in rows],
                    "bank_id": [r[2] for r in rows],
                },
                schema={
                    "card_number": pl.String,
                    "card_id_code": pl.String,
                    "person_id": pl.Int64,
                    "bank_id": pl.Int64,
                },
            ).with_columns(
                pl.lit(CardStatus.PENDING_PRODUCTION.value).alias("status"),
                pl.lit(issuing.code).alias("issuing_region_id"),
                pl.lit(SPEC_VERSION).alias("spec_version"),
                pl.lit(today.isoformat()).alias("issued_on"),
                pl.lit(expires.isoformat()).alias("expires_on"),
                pl.lit(card_centre.pk, dtype=pl.Int64).alias("custodian_id"),
                pl.lit(now).alias("created_at"),
                pl.lit(now).alias("updated_at"),
            ),
        )
        app_table = connection.ops.quote_name(Application._meta.db_table)
        card_table = connection.ops.quote_name(Card._meta.db_table)
        linked = update_from_frame(
            name="production_link",
            frame=pl.DataFrame(
                {"app_id": [r[0] for r in rows], "card_number": numbers},
                schema={"app_id": pl.Int64, "card_number": pl.String},
            ),
            types={"app_id": "bigint", "card_number": "text"},
            sql=(  # S608: quoted table names only; values are parameters
                f"UPDATE {app_table} SET card_id = c.id, production_batch_id = %s, status = %s "  # noqa: S608
                f"FROM {{stage}} s JOIN {card_table} c ON c.card_number = s.card_number "
                f"WHERE {app_table}.id = s.app_id"
            ),
            params=[batch.pk, ApplicationStatus.IN_PRODUCTION.value],
        )
        if linked != len(rows):
            raise ValidationFailed(
                "制卡批次与申领记录关联不完整，已回滚", code="PRODUCTION_LINK_FAILED"
            )
        account_requests_prepare(actor=actor, production_batch=batch)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            target_type="production_batch",
            target_id=batch.pk,
            detail={
                "cards": len(rows),
                "first_card": numbers[0],
                "last_card": numbers[-1],
            },
        )
    return batch


def production_batches_form(*, actor: User, today: date | None = None) -> list[ProductionBatch]:
    """Form production batches from every eligible application ready at the card centre (in
    the actor's scope): batches received at the card centre and online applications; one
    batch per unit (collective) and one per town (counter and online)."""
    _require_card_centre(actor)
    ready = Scope.for_user(actor).filter(
        Application.objects.filter(
            status=ApplicationStatus.ELIGIBLE, production_batch__isnull=True, person__isnull=False
        ).filter(batch__status=ApplicationBatchStatus.AT_CARD_CENTRE)
        | Application.objects.filter(
            status=ApplicationStatus.ELIGIBLE,
            production_batch__isnull=True,
            person__isnull=False,
            batch__isnull=True,
            channel=ApplicationChannel.ONLINE,
        ),
        region_fields=("region__code",),
    )
    collective: dict[int, list[int]] = defaultdict(list)
    individual: dict[str, list[int]] = defaultdict(list)
    batch_ids: set[int] = set()
    for pk, channel, submitter_id, region_id, batch_id in ready.values_list(
        "pk", "channel", "batch__submitter_id", "region_id", "batch_id"
    ):
        if batch_id is not None:
            batch_ids.add(batch_id)
        if channel == ApplicationChannel.COLLECTIVE and submitter_id is not None:
            collective[submitter_id].append(pk)
        else:
            individual[region_id[:9]].append(pk)
    formed: list[ProductionBatch] = []
    units = Organisation.objects.in_bulk(list(collective))
    for unit_id, ids in sorted(collective.items()):
        unit = units[unit_id]
        made = production_batch_form(
            actor=actor,
            application_ids=ids,
            kind=ApplicationKind.COLLECTIVE,
            organisation=unit,
            region=unit.region,
            today=today,
        )
        if made is not None:
            formed.append(made)
    towns = Region.objects.in_bulk(list(individual))
    for town_code, ids in sorted(individual.items()):
        town = towns.get(town_code) or Region.objects.get(code=town_code[:6])
        made = production_batch_form(
            actor=actor,
            application_ids=ids,
            kind=ApplicationKind.INDIVIDUAL,
            organisation=_town_org(town.code),
            region=town,
            today=today,
        )
        if made is not None:
            formed.append(made)
    with transaction.atomic():
        application_batches_mark_in_production(batch_ids=batch_ids)
    formed.extend(production_reissues_form(actor=actor, today=today))
    return formed


def production_reissues_form(*, actor: User, today: date | None = None) -> list[ProductionBatch]:
    """Production batches of replacement and renewal cards (补领 / 换领): the new cards the
    card centre holds at 待制卡 that no batch has taken yet, one batch per town of the
    holder's household registration. They already have their numbers (given at the counter
    from the same series), so forming only groups them; the export, the vendor's results and
    the custody chain then treat them like any other batch. No account-opening request: the
    holder's bank account stays with the new card."""
    card_centre = _require_card_centre(actor)
    today = today or timezone.localdate()
    issuing = issuing_region_of(card_centre)
    formed: list[ProductionBatch] = []
    with transaction.atomic():
        rows = list(
            Card.objects.select_for_update(of=("self",))
            .filter(
                status=CardStatus.PENDING_PRODUCTION.value,
                custodian=card_centre,
                reissued_from__isnull=False,
                reissued_from__production_batch__isnull=True,
            )
            .order_by("pk")
            .values_list("pk", "person__hukou_region_id", "person__residence_region_id")
        )
        per_town: dict[str, list[int]] = defaultdict(list)
        for pk, hukou, residence in rows:
            per_town[_reissue_town(issuing, hukou, residence)].append(pk)
        towns = Region.objects.in_bulk(list(per_town))
        area = issuing.code[:6]
        for town_code, ids in sorted(per_town.items()):
            town = towns.get(town_code) or Region.objects.get(code=town_code[:6])
            batch = ProductionBatch.objects.create(
                code=f"BH{area}{today:%Y%m%d}{ids[0]:08d}",
                kind=ApplicationKind.INDIVIDUAL,
                is_reissue=True,
                organisation=_town_org(town.code),
                region=town,
                issuing_region=issuing,
                card_centre=card_centre,
                card_count=len(ids),
                created_by=actor,
            )
            for start in range(0, len(ids), _CHUNK):
                CardReissue.objects.filter(new_card_id__in=ids[start : start + _CHUNK]).update(
                    production_batch=batch
                )
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                target_type="production_batch",
                target_id=batch.pk,
                detail={"cards": len(ids), "reissue": True},
            )
            formed.append(batch)
    return formed


def _reissue_town(issuing: Region, hukou: str | None, residence: str | None) -> str:
    """The town whose batch a replacement joins: the holder's town of household registration
    when it is in the issuing area, else the town they live in there (a holder registered in
    another city), else the issuing area itself; the card centre's pickup chain runs there."""
    for code in (hukou, residence):
        if code and code.startswith(issuing.prefix):
            return code[:9]
    return issuing.code


def production_failed_remake(
    *, actor: User, card_ids: Sequence[int], today: date | None = None
) -> list[ProductionBatch]:
    """Remake cards the vendor reported failed (重新制卡): each goes back to 待制卡 under its
    own number (event 重新提交制卡, after its 制卡失败 in the card's history) and joins a new
    production batch — one per original batch, code CZ…, same unit or town — that is exported
    and answered like any other. The application (or the 补换卡 record) moves to the new
    batch, back at 制卡中; its account-opening item stays, as the card number does. The
    original batch keeps its counts: it did fail those cards."""
    card_centre = _require_card_centre(actor)
    today = today or timezone.localdate()
    ids = sorted(set(card_ids))
    if not ids:
        raise ValidationFailed("请选择要重新制卡的卡片", code="NOTHING_TO_REMAKE")
    with transaction.atomic():
        cards = list(
            Card.objects.select_for_update(of=("self",))
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", "card_number", "status")
        )
        not_failed = [n for _, n, status in cards if status != CardStatus.PRODUCTION_FAILED]
        if len(cards) != len(ids) or not_failed:
            raise ValidationFailed(
                "只有制卡失败的卡可以重新制卡"
                + (f"：{'、'.join(not_failed[:10])} 不是制卡失败状态" if not_failed else ""),
                code="NOT_PRODUCTION_FAILED",
            )
        origin: dict[int, ProductionBatch] = {}
        by_batch: dict[int, list[int]] = defaultdict(list)
        apps = dict(
            Application.objects.filter(card_id__in=ids).values_list("card_id", "production_batch")
        )
        reissues = dict(
            CardReissue.objects.filter(new_card_id__in=ids).values_list(
                "new_card_id", "production_batch"
            )
        )
        for pk, _number, _status in cards:
            batch_id = apps.get(pk) or reissues.get(pk)
            if batch_id is None:
                raise ValidationFailed("该卡不属于任何制卡批次", code="NO_PRODUCTION_BATCH")
            by_batch[batch_id].append(pk)
        visible = production_batches_visible_ids(actor, list(by_batch))
        origin = ProductionBatch.objects.in_bulk([b for b in by_batch if b in visible])
        if len(origin) != len(by_batch):
            raise PermissionDenied("所选卡片的制卡批次不在您的管辖范围内", "OUT_OF_SCOPE")
        formed: list[ProductionBatch] = []
        area = issuing_region_of(card_centre).code[:6]
        for batch_id, pks in sorted(by_batch.items()):
            old = origin[batch_id]
            batch = ProductionBatch.objects.create(
                code=f"{ProductionBatch.REMAKE_PREFIX}{area}{today:%Y%m%d}{pks[0]:08d}",
                kind=old.kind,
                is_reissue=old.is_reissue,
                organisation=old.organisation,
                region=old.region,
                issuing_region=old.issuing_region,
                card_centre=old.card_centre,
                vendor=old.vendor,
                card_count=len(pks),
                created_by=actor,
            )
            if old.is_reissue:
                CardReissue.objects.filter(new_card_id__in=pks).update(production_batch=batch)
            else:
                Application.objects.filter(card_id__in=pks).update(
                    production_batch=batch, status=ApplicationStatus.IN_PRODUCTION
                )
            cards_apply_event(
                card_ids=pks,
                event=CardEvent.RESUBMIT,
                actor=actor,
                channel="centre",
                note=f"重新制卡：批次 {batch.code}（原批次 {old.code}）",
            )
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                target_type="production_batch",
                target_id=batch.pk,
                detail={"cards": len(pks), "remake_of": old.code},
            )
            formed.append(batch)
    return formed


def production_batches_visible_ids(actor: User, batch_ids: Sequence[int]) -> set[int]:
    from shebao.cards.selectors.issuing import production_batches_visible

    return set(
        production_batches_visible(actor).filter(pk__in=batch_ids).values_list("pk", flat=True)
    )


def production_failed_cards(actor: User) -> QuerySet[Card]:
    """The cards the vendor reported failed, still waiting for a decision (remake or void),
    in the card centre's batches."""
    from shebao.cards.selectors.issuing import production_batches_visible

    visible = production_batches_visible(actor).values("pk")
    return (
        Card.objects.filter(status=CardStatus.PRODUCTION_FAILED.value)
        .filter(
            Q(application__production_batch__in=visible)
            | Q(reissued_from__production_batch__in=visible)
        )
        .select_related("person")
        .order_by("card_number")
    )


def production_batch_cards(batch: ProductionBatch) -> QuerySet[Card]:
    """The cards of a production batch: made for its applications, or (补换卡) the new cards
    of its reissues."""
    if batch.is_reissue:
        return Card.objects.filter(reissued_from__production_batch=batch)
    return Card.objects.filter(application__production_batch=batch)


# ---- exchange with the vendor ---------------------------------------------------------------


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    # Bank and vendor clerks open these files in a spreadsheet too: no live formulas.
    writer = safe_csv_writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def production_batch_export(
    *, actor: User, batch_id: int, vendor: Organisation | None = None
) -> tuple[ProductionBatch, bytes]:
    """The batch's cards as an SM4-encrypted file with its SM3 digest, for the vendor; the
    batch moves to 已送制卡厂商 (exporting again gives a fresh file of the same content)."""
    _require_card_centre(actor)
    with transaction.atomic():
        from shebao.cards.selectors.issuing import production_batches_visible

        batch = (
            ProductionBatch.objects.select_for_update(of=("self",))
            .filter(pk=batch_id, pk__in=production_batches_visible(actor).values("pk"))
            .first()
        )
        if batch is None:
            raise NotFound("制卡批次不存在")
        if vendor is not None and vendor.kind != OrganisationKind.CARD_VENDOR:
            raise ValidationFailed("所选机构不是制卡厂商", code="NOT_A_VENDOR")
        content = _order_content(batch)
        partner = vendor or batch.vendor
        sealed = seal_exchange_file(
            content,
            kind=KIND_VENDOR_ORDER,
            reference=batch.code,
            partner=partner.code if partner else "",
        )
        from shebao.cards.services.exchange import sm3_hex

        batch.export_digest = sm3_hex(content)
        if vendor is not None:
            batch.vendor = vendor
        if batch.status == ProductionBatchStatus.FORMED:
            batch.status = ProductionBatchStatus.SENT
            batch.sent_at = timezone.now()
        batch.save(update_fields=["export_digest", "vendor", "status", "sent_at"])
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT,
            target_type="production_batch",
            target_id=batch.pk,
            detail={"cards": batch.card_count, "sm3": batch.export_digest},
        )
    return batch, sealed


def _order_content(batch: ProductionBatch) -> bytes:
    if batch.is_reissue:
        return _reissue_order_content(batch)
    rows = list(
        Application.objects.filter(production_batch=batch, card__isnull=False)
        .order_by("card__card_number")
        .values_list(
            "card__card_number",
            "card__card_id_code",
            "person__id_number",
            "person__name",
            "person__gender",
            "card__issuing_region_id",
            "card__spec_version",
            "card__issued_on",
            "card__expires_on",
            "bank__name",
            "photo_source",
            "photo_entry",
            "batch__photo_zip",
            "photo",
            "person__photo",
        )
    )
    sources = {r[0]: _PhotoSource(r[11], r[12], r[13], r[14]) for r in rows}
    return _order_package(
        [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]) for r in rows], sources
    )


# The vendor's package (送厂数据包): a ZIP, sealed as one exchange file, holding the order
# file and the photo of every card, named by card number — the vendor prints from it alone.
ORDER_CSV_NAME: Final[str] = "制卡数据.csv"
ORDER_PHOTO_DIR: Final[str] = "照片"
_ZIP_TIME: Final[tuple[int, int, int, int, int, int]] = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class _PhotoSource:
    """Where a card's photo is: an entry of the unit's photo ZIP, an uploaded file, or the
    police photo of the person (the first present wins)."""

    zip_entry: str = ""
    zip_path: str = ""
    upload: str = ""
    police: str = ""


@dataclass(frozen=True, slots=True)
class VendorOrder:
    """A decrypted vendor package: the order rows and the photo bytes by card number."""

    rows: list[dict[str, str]]
    photos: dict[str, bytes]


def vendor_order_read(content: bytes) -> VendorOrder:
    """Read the decrypted content of a vendor package (the vendor's side, the demo, tests)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            text = archive.read(ORDER_CSV_NAME).decode("utf-8-sig")
            photos = {
                Path(name).stem: archive.read(name)
                for name in archive.namelist()
                if name.startswith(f"{ORDER_PHOTO_DIR}/") and not name.endswith("/")
            }
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ValidationFailed(
            f"送厂数据包不完整：应含 {ORDER_CSV_NAME} 和 {ORDER_PHOTO_DIR}/ 下的照片",
            code="VENDOR_PACKAGE_INVALID",
        ) from exc
    return VendorOrder(list(csv.DictReader(io.StringIO(text))), photos)


def _read_storage(name: str, *, police: bool = False) -> bytes | None:
    from django.core.files.storage import default_storage

    if not name:
        return None
    # Police photos are the registry's, sealed on disk (ADR 0017): read through their storage.
    storage = encrypted_storage if police else default_storage
    try:
        with storage.open(name, "rb") as fh:
            data: bytes = fh.read()
    except OSError:
        return None
    return data or None


def _photos(sources: dict[str, _PhotoSource]) -> dict[str, bytes]:
    """Card number → photo bytes; each unit ZIP opened once."""
    import zipfile

    from django.core.files.storage import default_storage

    out: dict[str, bytes] = {}
    by_zip: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for number, src in sources.items():
        if src.zip_entry and src.zip_path:
            by_zip[src.zip_path].append((number, src.zip_entry))
    for zip_name, entries in by_zip.items():
        try:
            with zipfile.ZipFile(default_storage.path(zip_name)) as archive:
                names = set(archive.namelist())
                for number, entry in entries:
                    if entry in names:
                        out[number] = archive.read(entry)
        except (OSError, zipfile.BadZipFile, NotImplementedError):
            continue
    for number, src in sources.items():
        if number not in out:
            data = _read_storage(src.upload) or _read_storage(src.police, police=True)
            if data:
                out[number] = data
    return out


def _order_package(
    rows: Sequence[tuple[Any, ...]],
    sources: dict[str, _PhotoSource],
) -> bytes:
    """The ZIP: the order CSV (its 照片 column names the photo's entry in the package, empty
    when the card has none — the vendor reports it failed) and the photos. Fixed timestamps,
    so exporting again gives the same content and SM3 digest."""
    import zipfile

    photos = _photos(sources)
    table = _csv_bytes(
        VENDOR_ORDER_HEADER,
        (
            (
                i,
                r[0],
                r[1],
                r[2],
                r[3],
                "男" if r[4] == "M" else "女",
                r[5],
                r[6],
                f"{r[7]:%Y%m%d}",
                f"{r[8]:%Y%m%d}",
                r[9] or "",
                f"{ORDER_PHOTO_DIR}/{r[0]}.jpg" if r[0] in photos else "",
            )
            for i, r in enumerate(rows, start=1)
        ),
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(zipfile.ZipInfo(ORDER_CSV_NAME, _ZIP_TIME), table)
        for r in rows:
            if r[0] in photos:
                info = zipfile.ZipInfo(f"{ORDER_PHOTO_DIR}/{r[0]}.jpg", _ZIP_TIME)
                archive.writestr(info, photos[r[0]])
    return buffer.getvalue()


def _reissue_order_content(batch: ProductionBatch) -> bytes:
    """The vendor package of a 补换卡 batch: the same layout; the photo is the one of the
    holder's latest application that had one (else the police photo)."""
    rows = list(
        production_batch_cards(batch)
        .order_by("card_number")
        .values_list(
            "card_number",
            "card_id_code",
            "person__id_number",
            "person__name",
            "person__gender",
            "issuing_region_id",
            "spec_version",
            "issued_on",
            "expires_on",
            "bank__name",
            "person_id",
            "person__photo",
        )
    )
    latest: dict[int, _PhotoSource] = {}
    for person_id, entry, zip_path, photo in (
        Application.objects.filter(person_id__in=[r[10] for r in rows])
        .exclude(photo_entry="", photo="")
        .order_by("pk")
        .values_list("person_id", "photo_entry", "batch__photo_zip", "photo")
    ):
        latest[person_id] = _PhotoSource(entry, zip_path or "", photo or "")
    sources = {
        r[0]: _PhotoSource(
            latest[r[10]].zip_entry if r[10] in latest else "",
            latest[r[10]].zip_path if r[10] in latest else "",
            latest[r[10]].upload if r[10] in latest else "",
            r[11] or "",
        )
        for r in rows
    }
    return _order_package(
        [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]) for r in rows], sources
    )


def production_batch_vendor_file(*, actor: User, code: str) -> tuple[ProductionBatch, bytes]:
    """The vendor downloads a batch sent to it (the same content, sealed afresh)."""
    org = actor.organisation
    batch = ProductionBatch.objects.filter(code=code).select_related("vendor").first()
    if (
        batch is None
        or org is None
        or batch.vendor_id != org.pk
        or batch.status == ProductionBatchStatus.FORMED
    ):
        raise NotFound("制卡批次不存在或未发送给本厂商")
    sealed = seal_exchange_file(
        _order_content(batch), kind=KIND_VENDOR_ORDER, reference=batch.code, partner=org.code
    )
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        target_type="production_batch",
        target_id=batch.pk,
        detail={"cards": batch.card_count, "channel": "api"},
    )
    return batch, sealed


def vendor_results_file(
    batch: ProductionBatch, results: Sequence[tuple[str, str, bool, str]]
) -> bytes:
    """The vendor's side (for tests, the demo and the vendor's own tooling): an encrypted
    result file of (card number, ID number, made?, failure reason)."""
    content = _csv_bytes(
        VENDOR_RESULT_HEADER,
        ((c, i, "成功" if ok else "失败", reason) for c, i, ok, reason in results),
    )
    return seal_exchange_file(
        content,
        kind=KIND_VENDOR_RESULT,
        reference=batch.code,
        partner=batch.vendor.code if batch.vendor else "",
    )


@dataclass(frozen=True, slots=True)
class VendorImportResult:
    batch: ProductionBatch
    made: int
    failed: int
    unchanged: int
    already_imported: bool = False


class ResultRowsInvalid(ShebaoError):
    def __init__(self, details: list[dict[str, object]]) -> None:
        super().__init__(
            code="RESULT_ROWS_INVALID",
            message=f"回盘文件有 {len(details)} 行数据有误，未导入任何结果",
            status=422,
            details=details,
        )


def _read_result_rows(content: bytes, header: Sequence[str]) -> list[dict[str, str]]:
    # Signed by the vendor, but its software may still send GBK or a broken CSV: refused,
    # not a server error (found by fuzzing the readers, issue 14 §2).
    try:
        text = content.decode("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text))
        missing = [h for h in header if h not in (reader.fieldnames or [])]
        if missing:
            raise ValidationFailed(f"回盘文件缺少列：{'、'.join(missing)}", code="MISSING_COLUMNS")
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValidationFailed(
            "回盘文件无法读取：应为 UTF-8 编码的 CSV，且引号成对", code="RESULT_FILE_UNREADABLE"
        ) from exc


def production_results_import(
    *, actor: User, data: bytes, batch_id: int | None = None
) -> VendorImportResult:
    """The vendor's production results (made / failed with reason): verified and decrypted,
    every row checked, then applied in bulk and atomically; importing the same results again
    changes nothing."""
    opened = open_exchange_file(data, kind=KIND_VENDOR_RESULT)
    org = actor.organisation
    with transaction.atomic():
        batch = (
            ProductionBatch.objects.select_for_update(of=("self",))
            .select_related("vendor")
            .filter(code=opened.reference)
            .first()
        )
        if batch is None or (batch_id is not None and batch.pk != batch_id):
            raise ValidationFailed(
                f"回盘文件所属的制卡批次（{opened.reference}）与所选批次不符", code="WRONG_BATCH"
            )
        is_vendor = org is not None and batch.vendor_id == org.pk
        is_centre = org is not None and batch.card_centre_id == org.pk
        if not (is_vendor or is_centre or _is_admin(actor)):
            raise PermissionDenied("无权导入该批次的制卡结果", "OUT_OF_SCOPE")
        if batch.status == ProductionBatchStatus.FORMED:
            raise ValidationFailed("该批次尚未送制卡厂商，不能导入制卡结果", code="BATCH_NOT_SENT")
        if opened.digest in batch.result_digests.split():
            return VendorImportResult(batch, 0, 0, 0, already_imported=True)
        rows = _read_result_rows(opened.content, VENDOR_RESULT_HEADER)
        cards = {
            number: (pk, status, id_number)
            for number, pk, status, id_number in production_batch_cards(batch).values_list(
                "card_number", "pk", "status", "person__id_number"
            )
        }
        errors: list[dict[str, object]] = []
        made: list[int] = []
        failed: dict[int, str] = {}
        unchanged = 0
        for n, row in enumerate(rows, start=1):
            number = validate_card_number(row["社保卡号"]).normalized
            found = cards.get(number)
            outcome = row["制卡结果"].lower()
            if found is None:
                errors.append({"row": n, "field": "社保卡号", "reason": "不是本批次的卡"})
                continue
            pk, status, id_number = found
            if row["社会保障号码"].upper() != id_number:
                errors.append({"row": n, "field": "社会保障号码", "reason": "与卡号不对应"})
                continue
            if outcome in _MADE_WORDS:
                if status == CardStatus.MADE or status != CardStatus.PENDING_PRODUCTION:
                    unchanged += 1
                else:
                    made.append(pk)
            elif outcome in _FAILED_WORDS:
                if not row.get("失败原因"):
                    errors.append({"row": n, "field": "失败原因", "reason": "制卡失败须注明原因"})
                elif status != CardStatus.PENDING_PRODUCTION:
                    unchanged += 1
                else:
                    failed[pk] = row["失败原因"]
            else:
                errors.append({"row": n, "field": "制卡结果", "reason": "应为“成功”或“失败”"})
        if errors:
            raise ResultRowsInvalid(errors[:200])
        cards_apply_event(
            card_ids=made, event=CardEvent.PRODUCTION_SUCCEEDED, actor=actor, channel="vendor"
        )
        cards_apply_event(
            card_ids=list(failed),
            event=CardEvent.PRODUCTION_FAILED,
            actor=actor,
            channel="vendor",
            notes=failed,
        )
        for start in range(0, len(made), _CHUNK):
            Application.objects.filter(card_id__in=made[start : start + _CHUNK]).update(
                status=ApplicationStatus.MADE
            )
        failed_ids = list(failed)
        for start in range(0, len(failed_ids), _CHUNK):
            Application.objects.filter(card_id__in=failed_ids[start : start + _CHUNK]).update(
                status=ApplicationStatus.PRODUCTION_FAILED
            )
        statuses = production_batch_cards(batch).values_list("status", flat=True)
        counts: defaultdict[str, int] = defaultdict(int)
        for status in statuses:
            counts[status] += 1
        batch.failed_count = counts[CardStatus.PRODUCTION_FAILED.value]
        batch.made_count = (
            batch.card_count - batch.failed_count - counts[CardStatus.PENDING_PRODUCTION.value]
        )
        if counts[CardStatus.PENDING_PRODUCTION.value] == 0:
            batch.status = ProductionBatchStatus.COMPLETED
            batch.completed_at = timezone.now()
        batch.result_digests = (batch.result_digests + " " + opened.digest).strip()
        batch.save(
            update_fields=[
                "made_count",
                "failed_count",
                "status",
                "completed_at",
                "result_digests",
            ]
        )
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            target_type="production_batch",
            target_id=batch.pk,
            detail={"made": len(made), "failed": len(failed), "unchanged": unchanged},
        )
    return VendorImportResult(batch, len(made), len(failed), unchanged)
