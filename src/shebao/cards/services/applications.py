"""Applications for a card (申领): collective files, the village counter, online applications
and instant issuance at a bank branch; the eligibility check against the registry; batches
travelling up the chain.

Eligibility runs the pure rules of `cards.domain` (the DuckDB engine, vectorised) on facts
read from the database in bulk: the population base is the registry's `Person`, a valid card
is a `Card` in status 已发放/正常/临时挂失/正式挂失, a duplicate application is one more row of
the same file or an open application elsewhere, and the cooperating banks are those
configured for the applicant's area (`CooperatingBank` on the region or any region above it).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

import polars as pl
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.cards.domain.eligibility import Programme, Reason, canonical_bank, resolve_bank
from shebao.cards.domain.engine import EligibilityResult, check_applications
from shebao.cards.domain.filecheck import APPLICATION_COLUMNS, ZipPhotos
from shebao.cards.domain.photos import PhotoSpec, PhotoVerdict, check_photo_bytes
from shebao.cards.domain.programmes import load_programme
from shebao.cards.domain.tables import ROW, read_table
from shebao.cards.models import (
    Application,
    ApplicationBatch,
    ApplicationBatchStatus,
    ApplicationChannel,
    ApplicationKind,
    ApplicationStatus,
    Card,
    CooperatingBank,
)
from shebao.cards.models.applications import OPEN_APPLICATION_STATUSES, PhotoSource
from shebao.cards.services.bulk import db_datetime, insert_frame
from shebao.errors import NotFound, PermissionDenied, ShebaoError, ValidationFailed
from shebao.geo.models import Region
from shebao.geo.selectors import region_ancestors
from shebao.identity.id_number import normalize_id_number
from shebao.identity.masking import mask_name
from shebao.identity.names import normalize_name
from shebao.registry.choices import HukouType, LifeStatus
from shebao.registry.models import Enrollment, Person
from shebao.vault.storage import encrypted_storage

__all__ = [
    "COLLECTIVE_SUBMITTERS",
    "HOLDING_STATUSES",
    "BatchTransitionError",
    "CounterInput",
    "EligibilityFacts",
    "ServiceArea",
    "applicant_identity_check",
    "application_batch_correct",
    "application_batch_forward",
    "application_batch_upload",
    "application_counter_create",
    "application_online_submit",
    "application_resubmit",
    "applications_check",
    "bank_key",
    "cooperating_banks_for",
    "counter_batch_submit",
    "issuing_programme_name",
]

COLLECTIVE_SUBMITTERS: Final[frozenset[str]] = frozenset(
    {
        OrganisationKind.EMPLOYER,
        OrganisationKind.PUBLIC_INSTITUTION,
        OrganisationKind.SCHOOL,
        OrganisationKind.DEPARTMENT,
    }
)
# Card statuses that count as holding a valid card (HAS_CARD), with the words of card files.
HOLDING_STATUSES: Final[dict[str, str]] = {
    "issued": "正常",
    "active": "正常",
    "temporary_loss": "临时挂失",
    "lost": "正式挂失",
}
_CHUNK: Final[int] = 5_000
_S = ApplicationBatchStatus

# The batch's journey: which statuses may move up, and the status at each kind of holder.
_FORWARDABLE: Final[frozenset[str]] = frozenset(
    {_S.AT_SUBMITTER, _S.AT_INTERMEDIATE, _S.AT_DISTRICT}
)
_STATUS_AT: Final[dict[str, ApplicationBatchStatus]] = {
    OrganisationKind.DEPARTMENT: _S.AT_INTERMEDIATE,
    OrganisationKind.TOWN_OFFICE: _S.AT_INTERMEDIATE,
    OrganisationKind.BUREAU: _S.AT_INTERMEDIATE,
    OrganisationKind.DATA_CENTRE: _S.AT_INTERMEDIATE,
    OrganisationKind.DISTRICT_CARD_OFFICE: _S.AT_DISTRICT,
    OrganisationKind.CARD_CENTRE: _S.AT_CARD_CENTRE,
}


class BatchTransitionError(ShebaoError):
    def __init__(self, message: str) -> None:
        super().__init__(code="BATCH_INVALID_TRANSITION", message=message, status=409)


def _new_code(prefix: str) -> str:
    return f"{prefix}{timezone.localdate():%Y%m%d}{uuid.uuid4().hex[:8].upper()}"


def _is_admin(actor: User) -> bool:
    return bool(actor.is_superuser or actor.has_role(Role.SYSTEM_ADMIN))


# ---- eligibility against the registry -------------------------------------------------------


def bank_key(name: str) -> str:
    """One spelling per bank for matching: the name up to its first 银行 (an organisation
    such as 农业银行鄂州分行 is the bank 农业银行), then `canonical_bank`."""
    at = name.find("银行")
    return canonical_bank(name[: at + 2] if at >= 0 else name)


def cooperating_banks_for(region_code: str) -> dict[str, Organisation]:
    """The cooperating banks of an area (configured on the region or any region above it),
    by canonical bank name."""
    codes = [r.code for r in region_ancestors(region_code)] + [region_code]
    rows = CooperatingBank.objects.filter(region_id__in=codes, bank__is_active=True).select_related(
        "bank"
    )
    return {bank_key(row.bank.name): row.bank for row in rows}


@dataclass(frozen=True, slots=True)
class EligibilityFacts:
    """The outcome of a check: the engine's frame (row, id_number, name, eligible, reasons,
    messages) plus `person_id` (None when not in the registry)."""

    frame: pl.DataFrame
    skipped_rules: tuple[str, ...]
    photos_checked: int
    photo_seconds: float = 0.0


class _BytesPhotos:
    """Photos held in memory (a counter upload, the police photo), keyed by ID number."""

    def __init__(self, photos: Mapping[str, bytes], spec: PhotoSpec) -> None:
        self._photos = {k.upper(): v for k, v in photos.items()}
        self._spec = spec

    @property
    def index(self) -> Mapping[str, str]:
        return {k: k for k in self._photos}

    def check(self, entries: Sequence[str]) -> Mapping[str, PhotoVerdict]:
        return {e: check_photo_bytes(self._photos[e], self._spec) for e in entries}


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _normalized(frame: pl.DataFrame) -> pl.Series:
    return frame["id_number"].map_elements(normalize_id_number, return_dtype=pl.String)


def _population(ids: Sequence[str], programme: Programme | None) -> pl.DataFrame:
    """The registry's persons for these (normalised) ID numbers, in the engine's layout."""
    rows: list[tuple[int, str, str, date | None, str, str]] = []
    for chunk in _chunks(ids):
        rows.extend(
            Person.objects.filter(id_number__in=chunk).values_list(
                "pk", "id_number", "life_status", "status_date", "hukou_type", "hukou_region_id"
            )
        )
    frame = pl.DataFrame(
        {
            "person_id": [r[0] for r in rows],
            "id_number": [r[1] for r in rows],
            "status": ["死亡" if r[2] == LifeStatus.DECEASED else "正常" for r in rows],
            "death_date": [
                r[3].isoformat() if r[2] == LifeStatus.DECEASED and r[3] else "" for r in rows
            ],
            "hukou_type": ["非户籍" if r[4] == HukouType.NON_HUKOU else "户籍" for r in rows],
            "region_code": [r[5] for r in rows],
        },
        schema={
            "person_id": pl.Int64,
            "id_number": pl.String,
            "status": pl.String,
            "death_date": pl.String,
            "hukou_type": pl.String,
            "region_code": pl.String,
        },
    ).with_row_index(ROW, offset=1)
    if programme is not None and any(rule.needs for rule in programme.scope):
        insured: set[int] = set()
        enterprise: set[int] = set()
        person_ids = frame["person_id"].to_list()
        for start in range(0, len(person_ids), _CHUNK):
            chunk_ids = person_ids[start : start + _CHUNK]
            for pid, scheme, kind in Enrollment.objects.filter(
                person_id__in=chunk_ids, status="active"
            ).values_list("person_id", "scheme_id", "employer__kind"):
                insured.add(pid)
                if scheme == "110" and kind == "enterprise":
                    enterprise.add(pid)
        frame = frame.with_columns(
            pl.col("person_id").is_in(list(insured)).alias("insured"),
            pl.col("person_id").is_in(list(enterprise)).alias("enterprise_employee"),
        )
    return frame.with_columns(pl.col(ROW).cast(pl.Int64))


def _cards_held(person_ids: Sequence[int]) -> pl.DataFrame:
    rows: list[tuple[str, str]] = []
    for start in range(0, len(person_ids), _CHUNK):
        chunk = person_ids[start : start + _CHUNK]
        rows.extend(
            Card.objects.filter(person_id__in=chunk, status__in=list(HOLDING_STATUSES)).values_list(
                "person__id_number", "status"
            )
        )
    return pl.DataFrame(
        {"id_number": [r[0] for r in rows], "status": [HOLDING_STATUSES[r[1]] for r in rows]},
        schema={"id_number": pl.String, "status": pl.String},
    )


def _open_applications(person_ids: Sequence[int], exclude: Iterable[int]) -> dict[int, str]:
    """Person id → where their open application is (for the duplicate reason's detail)."""
    excluded = set(exclude)
    found: dict[int, str] = {}
    for start in range(0, len(person_ids), _CHUNK):
        chunk = person_ids[start : start + _CHUNK]
        for pk, pid, code, channel in Application.objects.filter(
            person_id__in=chunk, status__in=OPEN_APPLICATION_STATUSES
        ).values_list("pk", "person_id", "batch__code", "channel"):
            if pk not in excluded:
                found[pid] = f"申领批次 {code}" if code else ApplicationChannel(channel).label
    return found


_REASON_ORDER: Final[dict[str, int]] = {r.value: i for i, r in enumerate(Reason)}


def _add_duplicates(frame: pl.DataFrame, elsewhere: Mapping[int, str]) -> pl.DataFrame:
    """Add DUPLICATE_APPLICATION for rows whose person has an open application elsewhere,
    keeping the reasons in their fixed order."""
    if not elsewhere:
        return frame
    label = Reason.DUPLICATE_APPLICATION.label
    reasons: list[str] = []
    messages: list[str] = []
    for pid, codes, msgs in zip(
        frame["person_id"].to_list(),
        frame["reasons"].to_list(),
        frame["messages"].to_list(),
        strict=True,
    ):
        if pid is None or pid not in elsewhere or Reason.DUPLICATE_APPLICATION.value in codes:
            reasons.append(codes)
            messages.append(msgs)
            continue
        dup = f"{label}：已有未办结的申领（{elsewhere[pid]}）"
        code_list = codes.split(";") if codes else []
        later = [
            c for c in code_list if _REASON_ORDER[c] > _REASON_ORDER[Reason.DUPLICATE_APPLICATION]
        ]
        at = msgs.find(Reason(later[0]).label) if later else -1
        if at < 0:
            at = len(msgs) + 1
            msgs = f"{msgs}；" if msgs else ""
        msgs = msgs[:at] + dup + ("；" + msgs[at:] if msgs[at:] else "")
        code_list.append(Reason.DUPLICATE_APPLICATION.value)
        code_list.sort(key=_REASON_ORDER.__getitem__)
        reasons.append(";".join(code_list))
        messages.append(msgs)
    return frame.with_columns(
        pl.Series("reasons", reasons, dtype=pl.String),
        pl.Series("messages", messages, dtype=pl.String),
    ).with_columns((pl.col("reasons") == "").alias("eligible"))


def applications_check(
    applications: pl.DataFrame,
    *,
    region_code: str,
    programme: Programme | None = None,
    photos: ZipPhotos | _BytesPhotos | _StoredPhotos | None = None,
    exclude_application_ids: Iterable[int] = (),
    as_of: date | None = None,
) -> EligibilityFacts:
    """Check application rows (`__row`, id_number, name, bank, phone, work_number) against
    the registry, for applicants of the area `region_code`."""
    as_of = as_of or timezone.localdate()
    distinct_banks = applications["bank"].unique().to_list()
    apps = applications.with_columns(
        _normalized(applications).alias("__id_norm"),
        pl.col("bank").replace_strict(
            {b: bank_key(b) for b in distinct_banks}, return_dtype=pl.String
        ),
    )
    ids = apps["__id_norm"].unique().to_list()
    population = _population(ids, programme)
    person_by_id = dict(
        zip(population["id_number"].to_list(), population["person_id"].to_list(), strict=True)
    )
    person_ids = population["person_id"].to_list()
    banks = frozenset(cooperating_banks_for(region_code))
    result: EligibilityResult = check_applications(
        apps.drop("__id_norm"),
        population.drop("person_id"),
        cards=_cards_held(person_ids),
        photos=photos,
        banks=banks,
        programme=programme,
        as_of=as_of,
    )
    frame = result.frame.with_columns(
        pl.Series(
            "person_id",
            [person_by_id.get(i) for i in apps["__id_norm"].to_list()],
            dtype=pl.Int64,
        )
    )
    frame = _add_duplicates(frame, _open_applications(person_ids, exclude_application_ids))
    return EligibilityFacts(
        frame, result.skipped_rules, result.photos_checked, result.photo_seconds
    )


# ---- collective upload ----------------------------------------------------------------------


def issuing_programme_name() -> str:
    """The programme the system runs (setting SHEBAO_CARD_PROGRAMME)."""
    from django.conf import settings

    return str(getattr(settings, "SHEBAO_CARD_PROGRAMME", "") or "default")


def _programme(name: str) -> Programme:
    """The named programme, or the one the system runs: one rule set for every channel and
    for `shebao cards check-applications`."""
    return load_programme(name or issuing_programme_name())


def _bank_ids(names: Iterable[str], region_code: str) -> dict[str, int]:
    banks = cooperating_banks_for(region_code)
    found = {n: resolve_bank(bank_key(n), banks) for n in set(names)}
    return {n: banks[key].pk for n, key in found.items() if key is not None}


def _file_bytes(upload: UploadedFile | bytes | Path) -> bytes:
    if isinstance(upload, bytes):
        return upload
    if isinstance(upload, Path):
        return upload.read_bytes()
    upload.seek(0)
    return b"".join(upload.chunks())


def _create_applications(
    *,
    batch: ApplicationBatch,
    table: pl.DataFrame,
    facts: EligibilityFacts,
    channel: ApplicationChannel,
    region: Region,
    submitter: Organisation,
    actor: User | None,
    photo_entries: Mapping[str, str] | None = None,
) -> int:
    """Application rows from the file rows and their check, inserted in bulk (COPY)."""
    joined = table.join(
        facts.frame.select(
            pl.col("row").alias(ROW), "eligible", "reasons", "messages", "person_id"
        ),
        on=ROW,
        how="left",
    ).sort(ROW)
    bank_ids = _bank_ids(joined["bank"].unique().to_list(), region.code)
    now = db_datetime(timezone.now())
    entries = photo_entries or {}
    gender = pl.col("gender") if "gender" in joined.columns else pl.lit("")
    frame = joined.select(
        pl.lit(batch.pk, dtype=pl.Int64).alias("batch_id"),
        pl.col(ROW).cast(pl.Int64).alias("row"),
        pl.lit(channel.value).alias("channel"),
        pl.col("person_id"),
        pl.col("id_number").str.slice(0, 32),
        pl.col("name").str.slice(0, 64),
        gender.str.slice(0, 4).alias("gender"),
        pl.col("work_number").str.slice(0, 32),
        pl.col("bank").str.slice(0, 64).alias("bank_name"),
        pl.col("bank")
        .replace_strict(bank_ids, default=None, return_dtype=pl.Int64)
        .alias("bank_id"),
        pl.col("phone").str.slice(0, 32),
        pl.col(ROW)
        .cast(pl.String)
        .replace_strict(entries, default="", return_dtype=pl.String)
        .alias("photo_entry"),
        pl.lit(region.code).alias("region_id"),
        pl.lit(submitter.pk, dtype=pl.Int64).alias("submitter_id"),
        pl.when(pl.col("eligible"))
        .then(pl.lit(ApplicationStatus.ELIGIBLE.value))
        .otherwise(pl.lit(ApplicationStatus.INELIGIBLE.value))
        .alias("status"),
        pl.col("reasons").str.slice(0, 255),
        pl.col("messages"),
        pl.lit(actor.pk if actor is not None else None, dtype=pl.Int64).alias("created_by_id"),
        pl.lit(now).alias("created_at"),
        pl.lit(now).alias("checked_at"),
    ).with_columns(
        pl.when(pl.col("photo_entry") != "")
        .then(pl.lit(PhotoSource.ZIP.value))
        .otherwise(pl.lit(""))
        .alias("photo_source")
    )
    return insert_frame(Application, frame)


def _link_resubmissions(batch: ApplicationBatch, submitter: Organisation | None) -> int:
    """Ineligible applications of the same sender re-sent in `batch` are marked 已更正重报
    and linked to their corrected copy (the first new row with the same ID number)."""
    if submitter is None:
        return 0
    waiting = dict(
        Application.objects.filter(
            submitter=submitter, status=ApplicationStatus.INELIGIBLE, resubmission__isnull=True
        )
        .exclude(batch=batch)
        .values_list("id_number", "pk")
    )
    if not waiting:
        return 0
    old_by_id: dict[str, int] = {}
    for raw, pk in waiting.items():
        old_by_id.setdefault(normalize_id_number(raw), pk)
    first_by_id: dict[str, int] = {}
    for pk, raw in (
        Application.objects.filter(batch=batch).order_by("row", "pk").values_list("pk", "id_number")
    ):
        first_by_id.setdefault(normalize_id_number(raw), pk)
    linked = 0
    for key, old_pk in old_by_id.items():
        target = first_by_id.get(key)
        if target is None:
            continue
        Application.objects.filter(pk=target).update(resubmission_of_id=old_pk)
        Application.objects.filter(pk=old_pk, status=ApplicationStatus.INELIGIBLE).update(
            status=ApplicationStatus.RESUBMITTED
        )
        linked += 1
    return linked


def _update_counts(batch: ApplicationBatch) -> None:
    apps = Application.objects.filter(batch=batch).exclude(status=ApplicationStatus.RESUBMITTED)
    batch.row_count = apps.count()
    batch.ineligible_count = apps.filter(status=ApplicationStatus.INELIGIBLE).count()
    batch.eligible_count = batch.row_count - batch.ineligible_count
    batch.updated_at = timezone.now()
    batch.save(update_fields=["row_count", "eligible_count", "ineligible_count", "updated_at"])


@dataclass(frozen=True, slots=True)
class UploadResult:
    batch: ApplicationBatch
    rows: int
    eligible: int
    ineligible: int
    resubmitted: int
    counts: dict[str, int]
    seconds: dict[str, float]


def application_batch_upload(
    *,
    actor: User,
    file: UploadedFile | Path,
    file_name: str = "",
    photo_zip: UploadedFile | Path | None = None,
    programme: str = "",
    as_of: date | None = None,
    photo_workers: int | None = None,
) -> UploadResult:
    """A unit's collective application file (CSV or XLSX, the seed's columns) with its photo
    ZIP: every row checked, the batch created at the unit, ready to be forwarded."""
    org = actor.organisation
    if org is None or (org.kind not in COLLECTIVE_SUBMITTERS and not _is_admin(actor)):
        raise PermissionDenied("只有机关事业单位、学校或职能部门可以提交集体申领", "NOT_A_UNIT")
    name = file_name or (file.name if isinstance(file, Path) else file.name or "申领文件.csv")
    data = _file_bytes(file)
    suffix = Path(name).suffix.lower() or ".csv"
    if org.kind in COLLECTIVE_SUBMITTERS:
        # Corrected rows of an earlier batch re-uploaded here join that batch (and keep the
        # photos it already holds) instead of starting an unrelated one.
        target = (
            _corrected_batch_of(_read_upload(data, name), org)
            if _waiting_corrections(None, org, exists=True)
            else None
        )
        if target is not None:
            return application_batch_correct(
                actor=actor, batch_id=target, file=data, file_name=name, photo_zip=photo_zip
            )
    programme = programme or issuing_programme_name()
    spec_programme = _programme(programme)
    code = _new_code("SL")
    seconds: dict[str, float] = {}
    lap = time.perf_counter()

    def mark(name: str) -> None:
        nonlocal lap
        now = time.perf_counter()
        seconds[name] = round(now - lap, 2)
        lap = now

    with transaction.atomic():
        batch = ApplicationBatch(
            code=code,
            kind=ApplicationKind.COLLECTIVE,
            submitter=org,
            holder=org,
            region=org.region,
            path=f",{org.code},",
            programme=programme,
            created_by=actor,
        )
        batch.source_file.save(f"{code}{suffix}", ContentFile(data), save=False)
        if isinstance(photo_zip, Path):
            with photo_zip.open("rb") as fh:  # streamed: a unit's ZIP may be a gigabyte
                batch.photo_zip.save(f"{code}.zip", File(fh), save=False)
        elif photo_zip is not None:
            batch.photo_zip.save(f"{code}.zip", photo_zip, save=False)
        batch.full_clean()
        batch.save()
        mark("store_files")
        table = read_table(
            Path(batch.source_file.path), APPLICATION_COLUMNS, what="申领文件", name=Path(name).name
        )
        frame = table.canonical(APPLICATION_COLUMNS)
        if frame.height == 0:
            raise ValidationFailed("申领文件中没有数据行", code="EMPTY_FILE")
        spec = spec_programme.photo
        photos = (
            ZipPhotos.open(Path(batch.photo_zip.path), spec, photo_workers)
            if batch.photo_zip
            else None
        )
        mark("read_file")
        facts = applications_check(
            frame, region_code=org.region_id, programme=spec_programme, photos=photos, as_of=as_of
        )
        mark("eligibility")
        seconds["of_which_photos"] = round(facts.photo_seconds, 2)
        entries = _photo_entries(frame, photos) if photos else None
        _create_applications(
            batch=batch,
            table=frame,
            facts=facts,
            channel=ApplicationChannel.COLLECTIVE,
            region=org.region,
            submitter=org,
            actor=actor,
            photo_entries=entries,
        )
        resubmitted = _link_resubmissions(batch, org)
        _update_counts(batch)
        mark("application_rows")
        counts = {
            r.value: n for r, n in EligibilityResult(facts.frame, (), 0).counts().items() if n
        }
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            target_type="application_batch",
            target_id=batch.pk,
            detail={
                "rows": batch.row_count,
                "eligible": batch.eligible_count,
                "ineligible": batch.ineligible_count,
                "resubmitted": resubmitted,
            },
        )
    return UploadResult(
        batch=batch,
        rows=batch.row_count,
        eligible=batch.eligible_count,
        ineligible=batch.ineligible_count,
        resubmitted=resubmitted,
        counts=counts,
        seconds=seconds,
    )


# ---- corrected rows re-sent ---------------------------------------------------------------

# Batches that may still take corrected rows: anywhere before production is complete. A batch
# in production goes back to the card centre's queue for its new eligible rows.
_CORRECTABLE: Final[frozenset[str]] = _FORWARDABLE | {_S.AT_CARD_CENTRE, _S.IN_PRODUCTION}


def _waiting_corrections(
    batch_ids: Iterable[int] | None, submitter: Organisation, *, exists: bool = False
) -> list[Application]:
    """The ineligible rows of `submitter`'s batches not yet corrected (with `exists`, at most
    one, to ask whether there are any)."""
    qs = Application.objects.filter(
        submitter=submitter, status=ApplicationStatus.INELIGIBLE, resubmission__isnull=True
    ).exclude(channel=ApplicationChannel.COUNTER)
    if batch_ids is not None:
        qs = qs.filter(batch_id__in=list(batch_ids))
    qs = qs.filter(batch__status__in=list(_CORRECTABLE)).order_by("row", "pk")
    return list(qs[:1]) if exists else list(qs)


def _corrected_batch_of(frame: pl.DataFrame, submitter: Organisation) -> int | None:
    """The one earlier batch of `submitter` whose rows waiting for correction include every
    row of this file (by ID number), or None: the file is then a new batch."""
    ids = {normalize_id_number(raw) or raw for raw in frame["id_number"].to_list()}
    by_batch: dict[int, set[str]] = {}
    for app in _waiting_corrections(None, submitter):
        if app.batch_id is not None:
            by_batch.setdefault(app.batch_id, set()).add(
                normalize_id_number(app.id_number) or app.id_number
            )
    fits = [pk for pk, waiting in by_batch.items() if ids <= waiting]
    return fits[0] if len(fits) == 1 else None


def _read_upload(data: bytes, name: str) -> pl.DataFrame:
    import tempfile

    suffix = Path(name).suffix.lower() or ".csv"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        table = read_table(path, APPLICATION_COLUMNS, what="申领文件", name=Path(name).name)
        frame = table.canonical(APPLICATION_COLUMNS)
    if frame.height == 0:
        raise ValidationFailed("申领文件中没有数据行", code="EMPTY_FILE")
    return frame


def _zip_bytes(path: Path | None, entries: Mapping[str, str]) -> dict[str, bytes]:
    """Key → the bytes of its ZIP entry (absent entries and unreadable archives skipped)."""
    import zipfile

    if path is None or not path.is_file() or not entries:
        return {}
    out: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            for key, entry in entries.items():
                if entry in names:
                    out[key] = archive.read(entry)
    except (zipfile.BadZipFile, OSError):
        return out
    return out


def application_batch_correct(
    *,
    actor: User,
    batch_id: int,
    file: UploadedFile | Path | bytes,
    file_name: str = "",
    photo_zip: UploadedFile | Path | bytes | None = None,
) -> UploadResult:
    """Corrected rows of a batch sent again (更正后重新提交): they join the ORIGINAL batch as
    new rows, each checked at once, and the row it corrects is marked 已更正重报 and linked.
    A row matches the row it corrects by ID number (or, for a corrected ID number, by the
    name of exactly one waiting row). Its photo is the one in the new ZIP if sent, otherwise
    the photo the batch already holds (its ZIP entry or uploaded photo) — photos already
    received are never asked for again."""
    org = actor.organisation
    if org is None:
        raise PermissionDenied("无所属机构", "NO_ORGANISATION")
    name = file_name or (
        file.name if isinstance(file, Path) else getattr(file, "name", "") or "更正.csv"
    )
    frame = _read_upload(_file_bytes(file) if not isinstance(file, bytes) else file, name)
    with transaction.atomic():
        batch = ApplicationBatch.objects.select_for_update(of=("self",)).filter(pk=batch_id).first()
        if batch is None:
            raise NotFound("申领批次不存在")
        if batch.submitter_id != org.pk and not _is_admin(actor):
            raise PermissionDenied("只能更正本单位提交的申领批次", "NOT_SUBMITTER")
        if batch.status not in _CORRECTABLE:
            raise BatchTransitionError(
                f"批次状态为“{ApplicationBatchStatus(batch.status).label}”，不能再补充更正记录"
            )
        waiting = _waiting_corrections([batch.pk], batch.submitter)
        by_id = {normalize_id_number(a.id_number) or a.id_number: a for a in waiting}
        by_name: dict[str, list[Application]] = {}
        for a in waiting:
            by_name.setdefault(normalize_name(a.name), []).append(a)
        matched: list[Application] = []
        problems: list[dict[str, object]] = []
        for row, raw, person_name in frame.select(ROW, "id_number", "name").iter_rows():
            key = normalize_id_number(raw) or raw
            old = by_id.get(key)
            if old is None and len(by_name.get(normalize_name(person_name), [])) == 1:
                old = by_name[normalize_name(person_name)][0]
            if old is None or old in matched:
                problems.append(
                    {
                        "row": row,
                        "field": "身份证号(18位)",
                        "reason": "不是本批次待更正的记录（或重复）",
                    }
                )
                continue
            matched.append(old)
        if problems:
            raise ValidationFailed(
                f"更正文件中有 {len(problems)} 行不是批次 {batch.code} 待更正的记录，"
                "请只上传从本批次下载的不符合条件记录（更正后）",
                code="NOT_A_CORRECTION",
                details=problems,
            )
        # Photos: the new ZIP first, then what the batch already holds.
        keys = [normalize_id_number(r) or r for r in frame["id_number"].to_list()]
        works = frame["work_number"].to_list()
        photos: dict[str, bytes] = {}
        sources: dict[str, tuple[str, str]] = {}  # key → (photo source, ZIP entry)
        if photo_zip is not None:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                zpath = Path(tmp) / "photos.zip"
                zpath.write_bytes(
                    photo_zip if isinstance(photo_zip, bytes) else _file_bytes(photo_zip)
                )
                index = ZipPhotos.open(zpath, PhotoSpec(), 1).index
                wanted = {}
                for key, work in zip(keys, works, strict=True):
                    for k in (key, work):
                        if k and k.upper() in index:
                            wanted[key] = index[k.upper()]
                            break
                photos.update(_zip_bytes(zpath, wanted))
            sources.update(dict.fromkeys(photos, (PhotoSource.UPLOAD, "")))
        old_entries = {
            key: old.photo_entry
            for key, old in zip(keys, matched, strict=True)
            if key not in photos and old.photo_entry
        }
        zip_path = Path(batch.photo_zip.path) if batch.photo_zip else None
        kept = _zip_bytes(zip_path, old_entries)
        photos.update(kept)
        sources.update({k: (PhotoSource.ZIP, old_entries[k]) for k in kept})
        for key, old in zip(keys, matched, strict=True):
            if key not in photos and old.photo:
                try:
                    with old.photo.open("rb") as fh:
                        photos[key] = fh.read()
                    sources[key] = (PhotoSource.UPLOAD, "")
                except OSError:
                    pass
        start = (
            Application.objects.filter(batch=batch).order_by("-row").values_list("row", flat=True)
        ).first() or 0
        frame = frame.with_columns(
            pl.Series(ROW, list(range(start + 1, start + 1 + frame.height)), dtype=pl.Int64)
        )
        checked_photos = bool(batch.photo_zip) or photo_zip is not None or bool(photos)
        facts = applications_check(
            frame,
            region_code=batch.region_id,
            programme=_programme(batch.programme),
            photos=_BytesPhotos(photos, PhotoSpec()) if checked_photos else None,
            exclude_application_ids=[a.pk for a in matched],
        )
        results = {r["row"]: r for r in facts.frame.iter_rows(named=True)}
        bank_ids = _bank_ids(frame["bank"].unique().to_list(), batch.region_id)
        now = timezone.now()
        for data, key, old in zip(frame.iter_rows(named=True), keys, matched, strict=True):
            result = results[data[ROW]]
            source, entry = sources.get(key, ("", ""))
            app = Application(
                batch=batch,
                row=data[ROW],
                channel=old.channel,
                person_id=result["person_id"],
                id_number=data["id_number"][:32],
                name=data["name"][:64],
                gender=(data.get("gender") or "")[:4],
                work_number=(data["work_number"] or "")[:32],
                bank_name=(data["bank"] or "")[:64],
                bank_id=bank_ids.get(data["bank"]),
                phone=(data["phone"] or "")[:32],
                photo_source=source,
                photo_entry=entry,
                region_id=batch.region_id,
                submitter=batch.submitter,
                status=ApplicationStatus.ELIGIBLE
                if result["eligible"]
                else ApplicationStatus.INELIGIBLE,
                reasons=result["reasons"][:255],
                messages=result["messages"],
                resubmission_of=old,
                created_by=actor,
                created_at=now,
                checked_at=now,
            )
            if source == PhotoSource.UPLOAD:
                app.photo.save(f"{uuid.uuid4().hex}.jpg", ContentFile(photos[key]), save=False)
            app.save()
        Application.objects.filter(pk__in=[a.pk for a in matched]).update(
            status=ApplicationStatus.RESUBMITTED
        )
        _update_counts(batch)
        eligible = sum(1 for r in results.values() if r["eligible"])
        if batch.status == _S.IN_PRODUCTION and eligible:
            # Back to the card centre's queue for the new rows; production moves it on again.
            batch.status = _S.AT_CARD_CENTRE
            batch.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            target_type="application_batch",
            target_id=batch.pk,
            detail={
                "event": "correction",
                "rows": frame.height,
                "eligible": eligible,
                "photos_kept": len(kept),
            },
        )
    return UploadResult(
        batch=batch,
        rows=frame.height,
        eligible=eligible,
        ineligible=frame.height - eligible,
        resubmitted=len(matched),
        counts={},
        seconds={},
    )


def _photo_entries(frame: pl.DataFrame, photos: ZipPhotos) -> dict[str, str]:
    """Row number → the ZIP entry of the row's photo (by ID number, as written, or work
    number), as the engine finds it."""
    index = photos.index
    out: dict[str, str] = {}
    for row, raw, work in zip(
        frame[ROW].to_list(),
        frame["id_number"].to_list(),
        frame["work_number"].to_list(),
        strict=True,
    ):
        for key in (normalize_id_number(raw), raw, work):
            if key and key.upper() in index:
                out[str(row)] = index[key.upper()]
                break
    return out


# ---- the journey up the chain ---------------------------------------------------------------


class _StoredPhotos:
    """The photos a batch already holds, for the re-check on arrival at the card centre,
    checked as cheaply as what may have changed allows. A photo from the unit's ZIP was
    checked in full on upload and the stored archive does not change: it is re-checked from
    the archive's central directory only (still there, within the size limit — a photo over
    it is checked in full to say why), without decoding 100,000 images again. A counter
    upload is read and checked in full (a village batch holds few). The police photo is
    checked in full as it is now: it may have been replaced or withdrawn since. A photo no
    longer there is absent from `index`, which the engine reports as NO_PHOTO."""

    def __init__(
        self,
        apps: Sequence[tuple[str, str, str, str, int | None]],
        *,
        zip_path: Path | None,
        spec: PhotoSpec,
    ) -> None:
        """`apps`: (ID number, photo source, ZIP entry, stored upload name, person id)."""
        import zipfile

        self._spec = spec
        self._zip_path = zip_path
        self._sizes: dict[str, int] = {}
        if zip_path is not None and zip_path.is_file():
            try:
                with zipfile.ZipFile(zip_path) as archive:
                    self._sizes = {i.filename: i.file_size for i in archive.infolist()}
            except (zipfile.BadZipFile, OSError):
                self._sizes = {}
        police = dict(
            Person.objects.filter(
                pk__in=[a[4] for a in apps if a[1] == PhotoSource.POLICE and a[4] is not None]
            )
            .exclude(photo="")
            .values_list("pk", "photo")
        )
        self._index: dict[str, str] = {}
        for id_number, source, entry, upload, person_id in apps:
            key = normalize_id_number(id_number).upper()
            token = ""
            if source == PhotoSource.ZIP and entry in self._sizes:
                token = f"zip:{entry}"
            elif source == PhotoSource.UPLOAD and upload:
                token = f"upload:{upload}"
            elif source == PhotoSource.POLICE and person_id in police:
                token = f"police:{police[person_id]}"
            if token:
                self._index[key] = token

    @property
    def index(self) -> Mapping[str, str]:
        return self._index

    def check(self, entries: Sequence[str]) -> Mapping[str, PhotoVerdict]:
        from django.core.files.storage import default_storage

        from shebao.cards.domain.photos import check_zip_photos

        out: dict[str, PhotoVerdict] = {}
        oversized: list[str] = []
        for token in entries:
            kind, _, name = token.partition(":")
            if kind == "zip":
                if self._sizes[name] > self._spec.max_bytes:
                    oversized.append(name)
                else:
                    out[token] = PhotoVerdict()
                continue
            # Police photos are the registry's, sealed on disk (ADR 0017).
            storage = encrypted_storage if kind == "police" else default_storage
            try:
                with storage.open(name, "rb") as fh:
                    data: bytes = fh.read()
            except OSError:
                data = b""
            out[token] = check_photo_bytes(data, self._spec)
        if oversized and self._zip_path is not None:
            verdicts = check_zip_photos(self._zip_path, oversized, self._spec, workers=1)
            out.update({f"zip:{name}": v for name, v in verdicts.items()})
        return out


def _recheck_at_card_centre(batch: ApplicationBatch) -> None:
    """On arrival at the card centre the eligible rows are checked again: the registry, the
    cards and the police photos may have changed while the batch travelled. Photo rules run
    when the batch's photos are stored (see `_StoredPhotos`); a batch sent without photos is
    re-checked without them, as it was checked on upload."""
    rows = list(
        Application.objects.filter(batch=batch, status=ApplicationStatus.ELIGIBLE).values_list(
            "pk",
            "row",
            "id_number",
            "name",
            "bank_name",
            "phone",
            "work_number",
            "photo_source",
            "photo_entry",
            "photo",
            "person_id",
        )
    )
    if not rows:
        return
    apps = [r[:7] for r in rows]
    programme = _programme(batch.programme)
    photos: _StoredPhotos | None = None
    if any(r[7] for r in rows):
        photos = _StoredPhotos(
            [(r[2], r[7], r[8], r[9], r[10]) for r in rows],
            zip_path=Path(batch.photo_zip.path) if batch.photo_zip else None,
            spec=programme.photo,
        )
    frame = pl.DataFrame(
        {
            ROW: [a[1] or i + 1 for i, a in enumerate(apps)],
            "id_number": [a[2] for a in apps],
            "name": [a[3] for a in apps],
            "bank": [a[4] for a in apps],
            "phone": [a[5] for a in apps],
            "work_number": [a[6] for a in apps],
        },
        schema={
            ROW: pl.Int64,
            "id_number": pl.String,
            "name": pl.String,
            "bank": pl.String,
            "phone": pl.String,
            "work_number": pl.String,
        },
    )
    facts = applications_check(
        frame,
        region_code=batch.region_id,
        programme=programme,
        photos=photos,
        exclude_application_ids=[a[0] for a in apps],
    )
    failed = facts.frame.filter(~pl.col("eligible"))
    by_row = {a[1] or i + 1: a[0] for i, a in enumerate(apps)}
    now = timezone.now()
    for row, reasons, messages in failed.select("row", "reasons", "messages").iter_rows():
        Application.objects.filter(pk=by_row[row], status=ApplicationStatus.ELIGIBLE).update(
            status=ApplicationStatus.INELIGIBLE,
            reasons=reasons[:255],
            messages=messages,
            checked_at=now,
        )


def application_batch_forward(*, actor: User, batch_id: int) -> ApplicationBatch:
    """Pass a batch from its holder to the holder's parent organisation (汇交)."""
    with transaction.atomic():
        batch = (
            ApplicationBatch.objects.select_for_update(of=("self",))
            .select_related("holder", "holder__parent")
            .filter(pk=batch_id)
            .first()
        )
        if batch is None:
            raise NotFound("申领批次不存在")
        if batch.holder_id != actor.organisation_id and not _is_admin(actor):
            raise PermissionDenied("只有当前持有该批次的机构可以上报", "NOT_HOLDER")
        if batch.status not in _FORWARDABLE:
            raise BatchTransitionError(
                f"批次状态为“{ApplicationBatchStatus(batch.status).label}”，不能再上报"
            )
        if not Application.objects.filter(batch=batch).exists():
            raise ValidationFailed("批次中没有申领记录，不能上报", code="BATCH_EMPTY")
        target = batch.holder.parent
        if target is None or target.kind not in _STATUS_AT:
            raise ValidationFailed(
                f"“{batch.holder.name}”没有配置上级经办机构，无法上报", code="NO_PARENT_ORG"
            )
        before = batch.status
        batch.holder = target
        batch.status = _STATUS_AT[target.kind]
        batch.path = (batch.path or ",") + f"{target.code},"
        batch.updated_at = timezone.now()
        batch.save(update_fields=["holder", "status", "path", "updated_at"])
        if batch.status == _S.AT_CARD_CENTRE:
            _recheck_at_card_centre(batch)
            _update_counts(batch)
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="application_batch",
            target_id=batch.pk,
            detail={"event": "forward", "from": before, "to": batch.status, "to_org": target.code},
        )
    return batch


def application_batches_mark_in_production(*, batch_ids: Iterable[int]) -> int:
    """Batches at the card centre whose eligible rows are all in production move on. Called
    by the production service inside its transaction."""
    pending = Application.objects.filter(
        batch_id__in=list(batch_ids), status=ApplicationStatus.ELIGIBLE
    ).values("batch_id")
    return (
        ApplicationBatch.objects.filter(pk__in=list(batch_ids), status=_S.AT_CARD_CENTRE)
        .exclude(pk__in=pending)
        .update(status=_S.IN_PRODUCTION, updated_at=timezone.now())
    )


# ---- the village counter --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CounterInput:
    id_number: str
    name: str
    bank_id: int | None
    phone: str
    photo: bytes | None = None
    use_police_photo: bool = False
    signed_form: bytes | None = None
    signed_form_name: str = "申领登记表.pdf"


def _open_counter_batch(org: Organisation, actor: User) -> ApplicationBatch:
    batch = (
        ApplicationBatch.objects.select_for_update(of=("self",))
        .filter(submitter=org, holder=org, status=_S.AT_SUBMITTER, kind=ApplicationKind.INDIVIDUAL)
        .order_by("-pk")
        .first()
    )
    if batch is not None:
        return batch
    return ApplicationBatch.objects.create(
        code=_new_code("GR"),
        kind=ApplicationKind.INDIVIDUAL,
        submitter=org,
        holder=org,
        region=org.region,
        path=f",{org.code},",
        created_by=actor,
    )


def _single_frame(row: int, id_number: str, name: str, bank: str, phone: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            ROW: [row],
            "id_number": [id_number.strip()],
            "name": [name.strip()],
            "bank": [bank],
            "phone": [phone.strip()],
            "work_number": [""],
        },
        schema={
            ROW: pl.Int64,
            "id_number": pl.String,
            "name": pl.String,
            "bank": pl.String,
            "phone": pl.String,
            "work_number": pl.String,
        },
    )


def _police_photo(id_number: str) -> bytes | None:
    person = Person.objects.filter(id_number=normalize_id_number(id_number)).first()
    if person is None or not person.photo:
        return None
    with person.photo.open("rb") as fh:
        data: bytes = fh.read()
    return data


@dataclass(frozen=True, slots=True)
class ServiceArea:
    """Where a counter serves applicants: a region subtree, and how the refusal names the
    counter and where to go instead."""

    region: Region
    counter: str  # 本村（居）委会, 本网点
    elsewhere: str  # 户籍地或居住地的村（居）委会


def applicant_identity_check(*, data: CounterInput, area: ServiceArea | None) -> None:
    """Refuse at once, recording nothing, what the clerk can put right on the spot: an
    applicant whose household registration and residence are both outside the counter's
    `area` (a village counter serves its district; a bank branch the region its scope covers,
    so that it can serve the card it issues), and a name that differs from the registry's (a
    typo; the card would carry it). A person not in the registry is left to the eligibility
    check, which records NOT_IN_POPULATION."""
    person = (
        Person.objects.filter(id_number=normalize_id_number(data.id_number))
        .select_related("hukou_region", "residence_region")
        .first()
    )
    if person is None:
        return
    if area is not None:
        homes = [r.code for r in (person.hukou_region, person.residence_region) if r is not None]
        if not any(code.startswith(area.region.prefix) for code in homes):
            here = area.region.name
            raise ValidationFailed(
                f"申领人户籍地和居住地都不在{here}，不能在{area.counter}申领，"
                f"请到{area.elsewhere}申领",
                code="APPLICANT_OUT_OF_AREA",
                details=[{"field": "id_number", "reason": f"户籍地和居住地都不在{here}"}],
            )
    if normalize_name(data.name) != normalize_name(person.name):
        raise ValidationFailed(
            f"姓名“{data.name.strip()}”与人口库登记的姓名（{mask_name(person.name)}）不一致，"
            "请核对申领人身份证件后更正；如人口库信息有误，请申领人先到公安部门更正",
            code="NAME_MISMATCH",
            details=[{"field": "name", "reason": "与人口库登记的姓名不一致"}],
        )


def _bank_name(bank_id: int | None) -> str:
    if bank_id is None:
        return ""
    bank = Organisation.objects.filter(pk=bank_id, kind=OrganisationKind.BANK).first()
    return bank.name if bank else ""


def _check_one(
    *,
    region_code: str,
    row: int,
    data: CounterInput,
    bank_name: str,
    exclude: Iterable[int] = (),
) -> tuple[EligibilityFacts, bytes | None, str]:
    photo = data.photo
    source = PhotoSource.UPLOAD if photo else ""
    if photo is None and data.use_police_photo:
        photo = _police_photo(data.id_number)
        source = PhotoSource.POLICE if photo else ""
    key = normalize_id_number(data.id_number) or "-"
    photos = _BytesPhotos({key: photo} if photo else {}, PhotoSpec())
    facts = applications_check(
        _single_frame(row, data.id_number, data.name, bank_name, data.phone),
        region_code=region_code,
        programme=_programme(""),
        photos=photos,
        exclude_application_ids=exclude,
    )
    return facts, photo, source


def application_counter_create(
    *, actor: User, data: CounterInput, resubmission_of: Application | None = None
) -> Application:
    """A village clerk registers an applicant at the counter (个人申领): chosen bank, phone,
    photo (uploaded, or the police photo), the scanned signed form. The application joins the
    village's open batch, checked at once; an ineligible one is kept with its reasons for
    correction."""
    org = actor.organisation
    if org is None or org.kind != OrganisationKind.VILLAGE_COMMITTEE:
        raise PermissionDenied("只有村（居）委会经办人员可以受理窗口申领", "NOT_A_VILLAGE")
    if not data.signed_form:
        raise ValidationFailed(
            "请上传申领人签字的申领登记表扫描件",
            code="SIGNED_FORM_REQUIRED",
            details=[{"field": "signed_form", "reason": "必填"}],
        )
    if not data.photo and not data.use_police_photo:
        raise ValidationFailed(
            "请上传申领人照片，或明确选择使用公安部门的身份证照片",
            code="PHOTO_CHOICE_REQUIRED",
            details=[{"field": "photo", "reason": "必填"}],
        )
    district = Region.objects.filter(code=org.region_id[:6]).first() or org.region
    applicant_identity_check(
        data=data,
        area=ServiceArea(district, "本村（居）委会", "户籍地或居住地的村（居）委会"),
    )
    with transaction.atomic():
        batch = _open_counter_batch(org, actor)
        row = (Application.objects.filter(batch=batch).count() or 0) + 1
        bank_name = _bank_name(data.bank_id)
        facts, photo, source = _check_one(
            region_code=org.region_id, row=row, data=data, bank_name=bank_key(bank_name)
        )
        result = facts.frame.row(0, named=True)
        app = Application(
            batch=batch,
            row=row,
            channel=ApplicationChannel.COUNTER,
            person_id=result["person_id"],
            id_number=data.id_number.strip()[:32],
            name=data.name.strip()[:64],
            bank_name=bank_name,
            bank_id=data.bank_id if bank_name else None,
            phone=data.phone.strip()[:32],
            photo_source=source,
            region=org.region,
            submitter=org,
            status=ApplicationStatus.ELIGIBLE
            if result["eligible"]
            else ApplicationStatus.INELIGIBLE,
            reasons=result["reasons"][:255],
            messages=result["messages"],
            resubmission_of=resubmission_of,
            created_by=actor,
            checked_at=timezone.now(),
        )
        if photo and source == PhotoSource.UPLOAD:
            app.photo.save(f"{uuid.uuid4().hex}.jpg", ContentFile(photo), save=False)
        suffix = Path(data.signed_form_name).suffix.lower() or ".pdf"
        app.signed_form.save(
            f"{uuid.uuid4().hex}{suffix}", ContentFile(data.signed_form), save=False
        )
        app.save()
        if resubmission_of is not None:
            Application.objects.filter(pk=resubmission_of.pk).update(
                status=ApplicationStatus.RESUBMITTED
            )
        _update_counts(batch)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            target_type="card_application",
            target_id=app.pk,
            person_id=app.person_id,
            detail={"channel": app.channel, "status": app.status, "reasons": app.reasons},
        )
    return app


def application_resubmit(*, actor: User, application_id: int, data: CounterInput) -> Application:
    """Correct an ineligible counter application and submit it again (更正后重新提交)."""
    old = Application.objects.select_related("submitter").filter(pk=application_id).first()
    if old is None:
        raise NotFound("申领记录不存在")
    if old.submitter_id != actor.organisation_id:
        raise PermissionDenied("只能更正本单位受理的申领", "NOT_SUBMITTER")
    if old.status != ApplicationStatus.INELIGIBLE:
        raise ValidationFailed("只有不符合制卡条件的申领可以更正重报", code="NOT_INELIGIBLE")
    return application_counter_create(actor=actor, data=data, resubmission_of=old)


def counter_batch_submit(*, actor: User) -> ApplicationBatch:
    """The village sends its open counter batch up to the town (汇交)."""
    org = actor.organisation
    if org is None:
        raise PermissionDenied("无所属机构", "NO_ORGANISATION")
    batch = (
        ApplicationBatch.objects.filter(
            submitter=org, holder=org, status=_S.AT_SUBMITTER, kind=ApplicationKind.INDIVIDUAL
        )
        .order_by("-pk")
        .first()
    )
    if batch is None:
        raise ValidationFailed("没有待上报的窗口申领", code="NOTHING_TO_SUBMIT")
    return application_batch_forward(actor=actor, batch_id=batch.pk)


# ---- online ---------------------------------------------------------------------------------


def application_online_submit(
    *,
    id_number: str,
    name: str,
    phone: str,
    bank_id: int | None,
    postal_address: str,
    photo: bytes | None = None,
    actor: User | None = None,
) -> Application:
    """A citizen applies online (网上申领) and chooses postal delivery. Without an uploaded
    photo the police photo is used. The application joins the individual production of the
    applicant's town directly (no village batch)."""
    postal_address = postal_address.strip()
    if len(postal_address) < 6:
        raise ValidationFailed(
            "请填写完整的邮寄地址",
            code="POSTAL_ADDRESS_REQUIRED",
            details=[{"field": "postal_address", "reason": "至少 6 个字"}],
        )
    person = Person.objects.filter(id_number=normalize_id_number(id_number)).first()
    if person is None:
        raise ValidationFailed(
            "人口库中查无此人，请到户籍所在地村（居）委会申领",
            code=Reason.NOT_IN_POPULATION.value,
        )
    region_code = person.hukou_region_id
    data = CounterInput(
        id_number=id_number,
        name=name,
        bank_id=bank_id,
        phone=phone,
        photo=photo,
        use_police_photo=photo is None,
    )
    with transaction.atomic():
        bank_name = _bank_name(bank_id)
        facts, got, source = _check_one(
            region_code=region_code, row=1, data=data, bank_name=bank_key(bank_name)
        )
        result = facts.frame.row(0, named=True)
        app = Application(
            channel=ApplicationChannel.ONLINE,
            row=1,
            person=person,
            id_number=person.id_number,
            name=name.strip()[:64],
            bank_name=bank_name,
            bank_id=bank_id if bank_name else None,
            phone=phone.strip()[:32],
            photo_source=source,
            postal_delivery=True,
            postal_address=postal_address[:255],
            region_id=region_code,
            status=ApplicationStatus.ELIGIBLE
            if result["eligible"]
            else ApplicationStatus.INELIGIBLE,
            reasons=result["reasons"][:255],
            messages=result["messages"],
            created_by=actor,
            checked_at=timezone.now(),
        )
        if got and source == PhotoSource.UPLOAD:
            app.photo.save(f"{uuid.uuid4().hex}.jpg", ContentFile(got), save=False)
        app.save()
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            target_type="card_application",
            target_id=app.pk,
            person_id=person.pk,
            detail={"channel": app.channel, "status": app.status, "reasons": app.reasons},
        )
    return app


def ineligible_rows_frame(applications: Sequence[Application]) -> pl.DataFrame:
    """The rows to correct, in the collective columns plus the reasons (for the XLSX)."""
    columns: dict[str, list[str]] = {
        "银行": [a.bank_name for a in applications],
        "姓名": [a.name for a in applications],
        "性别": [a.gender for a in applications],
        "身份证号(18位)": [a.id_number for a in applications],
        "联系电话": [a.phone for a in applications],
        "工作证号(学籍号)": [a.work_number for a in applications],
        "不符合制卡条件原因": [a.messages for a in applications],
        "原因代码": [a.reasons for a in applications],
    }
    return pl.DataFrame(
        {"行号": [a.row for a in applications], **columns},
        schema={"行号": pl.Int64, **dict.fromkeys(columns, pl.String)},
    )


def ineligible_xlsx(applications: Sequence[Application]) -> bytes:
    """XLSX of the ineligible rows, in the upload columns: the unit corrects and re-sends it."""
    import tempfile

    from shebao.cards.domain.xlsx import Sheet, write_xlsx

    frame = ineligible_rows_frame(applications)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ineligible.xlsx"
        write_xlsx(
            path,
            [Sheet("不符合制卡条件（更正后重新提交）", frame, [8, 12, 10, 6, 22, 14, 16, 60, 30])],
        )
        return path.read_bytes()
