"""Registration API for partner systems (mounted at /api/v1/registration): department files
imported as full snapshots or increments, an earlier batch made current again; the findings
queue (scoped to the caller's region, masked, paginated, filtered as on the queue page) and
a person's registration status by ID number (audited with the stated purpose, as the
registry's person lookup)."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path

from django.db import transaction
from django.http import HttpRequest
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import User
from shebao.comparison.domain import Category
from shebao.errors import PermissionDenied, ShebaoError, ValidationFailed
from shebao.intake.choices import ImportMode, ImportStatus
from shebao.intake.formats.kinds import SourceKind
from shebao.intake.models import ImportBatch
from shebao.intake.selectors import import_batch_visible
from shebao.intake.services import import_batch_make_current, import_batch_submit
from shebao.registration.choices import FindingStatus
from shebao.registration.roles import FINDING_WORK_ROLES, INTAKE_ROLES
from shebao.registration.selectors import (
    FindingFilter,
    FindingRow,
    finding_rows,
    findings_queue,
    latest_run,
    person_registration,
)
from shebao.registry.api import ErrorOut
from shebao.registry.selectors import person_detail

router = Router()

MAX_PAGE_SIZE = 500
# Far beyond any queue, and small enough that (page - 1) * page_size fits the database's
# integers: a larger page is the caller's error (400), not a server error.
MAX_PAGE = 1_000_000_000


class FindingOut(Schema):
    id: int
    category: str
    category_label: str
    id_number: str  # masked
    name: str  # masked
    source: str
    row: int | None
    region: str
    status: str
    status_label: str
    assignee: str
    match_probability: float | None


class FindingPage(Schema):
    run_id: int | None
    page: int
    page_size: int
    total: int
    items: list[FindingOut]


class CoverageOut(Schema):
    group: str
    scheme_code: str
    scheme_name: str
    required: bool


class RegistrationOut(Schema):
    id_number: str  # masked
    name: str  # masked
    compared: bool  # false: no comparison has set a status yet
    state: str
    state_label: str
    pension_eligible: bool
    coverage: list[CoverageOut]
    open_findings: int
    findings: list[FindingOut]
    run_id: int | None
    as_of: date | None
    updated_at: datetime | None


class ImportBatchOut(Schema):
    id: int
    created: bool  # false: the same file was imported before; this is that batch
    kind: str
    kind_label: str
    mode: str
    mode_label: str
    file_name: str
    status: str
    status_label: str
    error_code: str
    error_message: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_effective: int
    is_current: bool
    base_id: int | None


def _actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 - the API's auth guarantees it
    return user


def _intake_actor(request: HttpRequest) -> User:
    actor = _actor(request)
    if not (actor.is_superuser or actor.has_role(*INTAKE_ROLES)):
        raise PermissionDenied("您的角色无权导入部门数据", code="ROLE_FORBIDDEN")
    return actor


def _batch_out(batch: ImportBatch, *, created: bool = False) -> ImportBatchOut:
    return ImportBatchOut(
        id=batch.pk,
        created=created,
        kind=batch.kind,
        kind_label=batch.kind_label,
        mode=batch.mode,
        mode_label=batch.mode_label,
        file_name=batch.file_name,
        status=batch.status,
        status_label=ImportStatus(batch.status).label,
        error_code=batch.error_code,
        error_message=batch.error_message,
        rows_read=batch.rows_read,
        rows_accepted=batch.rows_accepted,
        rows_rejected=batch.rows_rejected,
        rows_effective=batch.rows_effective,
        is_current=batch.is_current,
        base_id=batch.base_id,
    )


@router.post(
    "/imports",
    response={200: ImportBatchOut, 403: ErrorOut, 422: ErrorOut},
    summary="导入部门数据文件（全量或增量）",
    description=(
        "上传一个部门数据文件（CSV、XLSX 或 Parquet），由后台任务导入。kind 为数据类型（"
        + "、".join(f"{k.value}={k.label}" for k in SourceKind)
        + "，空则按表头识别）；mode 为 snapshot（全量，默认：替换该类当前数据）或 increment"
        "（增量：叠加到该类当前数据上）。全量文件的行数不到当前数据一半时，须 confirm_shrink=true"
        "，否则导入失败并说明原因。同一文件重复上传返回原批次（created=false）。"
        "用 GET /imports/{id} 查看导入结果。"
    ),
)
def import_submit(
    request: HttpRequest,
    file: UploadedFile = File(...),  # noqa: B008
    kind: str = Form(""),
    mode: str = Form(ImportMode.SNAPSHOT.value),
    confirm_shrink: bool = Form(False),
) -> ImportBatchOut:
    actor = _intake_actor(request)
    errors = []
    if kind and kind not in {k.value for k in SourceKind}:
        errors.append({"field": "kind", "reason": "未知的数据类型"})
    if mode not in ImportMode.values:
        errors.append({"field": "mode", "reason": "应为 snapshot（全量）或 increment（增量）"})
    if errors:
        raise ValidationFailed("导入参数有误", code="QUERY_INVALID", details=errors)
    name = Path(file.name or "upload.csv").name
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{Path(name).suffix.lower()}"
        with path.open("wb") as handle:
            for chunk in file.chunks():
                handle.write(chunk)
        batch, created = import_batch_submit(
            actor=actor,
            path=path,
            kind=SourceKind(kind) if kind else None,
            file_name=name,
            mode=mode,
            confirm_shrink=confirm_shrink,
        )
    return _batch_out(batch, created=created)


@router.get(
    "/imports/{batch_id}",
    response={200: ImportBatchOut, 403: ErrorOut, 404: ErrorOut},
    summary="导入批次的状态和结果",
)
def import_get(request: HttpRequest, batch_id: int) -> ImportBatchOut:
    actor = _intake_actor(request)
    return _batch_out(import_batch_visible(actor=actor, batch_id=batch_id))


@router.post(
    "/imports/{batch_id}/current",
    response={200: ImportBatchOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="将以前导入的批次设为该类数据的当前数据",
    description="下次比对使用该批次（增量连同其所叠加的批次），不必重新导入文件。记入审计日志。",
)
def import_make_current(request: HttpRequest, batch_id: int) -> ImportBatchOut:
    actor = _intake_actor(request)
    batch = import_batch_visible(actor=actor, batch_id=batch_id)
    return _batch_out(import_batch_make_current(actor=actor, batch_id=batch.pk))


def _finding_out(rows: list[FindingRow]) -> list[FindingOut]:
    out = []
    for r in rows:
        data = asdict(r)
        data["id"] = data.pop("pk")
        out.append(FindingOut(**data))
    return out


@router.get(
    "/findings",
    response={200: FindingPage, 403: ErrorOut, 422: ErrorOut},
    summary="比对问题列表",
    description=(
        "调用者管辖范围内的比对问题（默认最近一次比对、未处理的问题），身份证号码与姓名脱敏。"
        "可按 run_id、category（"
        + "、".join(c.value for c in Category)
        + "）、status（"
        + "、".join(FindingStatus.values)
        + "，all 为全部）、region（区划代码）筛选；page 从 1 起，page_size 不超过 "
        + str(MAX_PAGE_SIZE)
        + "。"
    ),
)
def findings_list(
    request: HttpRequest,
    run_id: int | None = None,
    category: str = "",
    status: str = "",
    region: str = "",
    page: int = 1,
    page_size: int = 100,
) -> FindingPage:
    actor = _actor(request)
    if not (actor.is_superuser or actor.has_role(*FINDING_WORK_ROLES)):
        raise PermissionDenied("您的角色无权查看比对问题", code="FINDINGS_FORBIDDEN")
    errors = []
    if category and category not in {c.value for c in Category}:
        errors.append({"field": "category", "reason": "未知的问题类别"})
    if status and status != "all" and status not in FindingStatus.values:
        errors.append({"field": "status", "reason": "未知的处理状态"})
    if page < 1:
        errors.append({"field": "page", "reason": "页码从 1 开始"})
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        errors.append({"field": "page_size", "reason": f"每页条数应在 1 到 {MAX_PAGE_SIZE} 之间"})
    if errors:
        raise ValidationFailed("查询参数有误", code="QUERY_INVALID", details=errors)
    if page > MAX_PAGE:
        raise ShebaoError(
            code="PARAMETER_OUT_OF_RANGE",
            message=f"页码超出范围（至多 {MAX_PAGE}）",
            status=400,
            details=[{"field": "page", "reason": f"页码至多为 {MAX_PAGE}"}],
        )
    if run_id is None:
        run = latest_run()
        run_id = run.pk if run is not None else None
    queryset = findings_queue(
        actor=actor,
        query=FindingFilter(run_id=run_id, category=category, status=status, region=region),
    )
    total = queryset.count() if run_id is not None else 0
    start = (page - 1) * page_size
    found = list(queryset[start : start + page_size]) if total else []
    rows = finding_rows(found)
    # The page names persons (masked), as the findings page does: audited with them.
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.VIEW_PERSON,
            target_type="findings",
            purpose=Purpose.REGISTRATION,
            detail={
                "page": page,
                "via": "api",
                "person_ids": sorted({f.person_id for f in found if f.person_id is not None}),
            },
        )
    return FindingPage(
        run_id=run_id, page=page, page_size=page_size, total=total, items=_finding_out(rows)
    )


@router.get(
    "/persons/{id_number}",
    response={200: RegistrationOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="按身份证号码查询参保登记状态",
    description=(
        "在调用者管辖范围内按公民身份号码查询人员的全民参保登记状态、分险种参保情况和未处理的"
        "比对问题（脱敏）。须说明用途 purpose（"
        + "、".join(f"{v}={label}" for v, label in Purpose.choices)
        + "）。每次查询均记入审计日志。"
    ),
)
def registration_lookup(
    request: HttpRequest, id_number: str, purpose: str, purpose_note: str = ""
) -> RegistrationOut:
    actor = _actor(request)
    # Scoping, the purpose and the audit row are the registry's person lookup's.
    detail = person_detail(
        actor=actor,
        id_number=id_number,
        purpose=purpose,
        purpose_note=purpose_note,
        reveal=False,
        action=AuditAction.API_LOOKUP_PERSON,
    )
    status = person_registration(actor=actor, person_id=detail.pk)
    if status is None:
        return RegistrationOut(
            id_number=detail.id_number,
            name=detail.name,
            compared=False,
            state="",
            state_label="尚未比对",
            pension_eligible=False,
            coverage=[],
            open_findings=0,
            findings=[],
            run_id=None,
            as_of=None,
            updated_at=None,
        )
    return RegistrationOut(
        id_number=detail.id_number,
        name=detail.name,
        compared=True,
        state=status.state,
        state_label=status.state_label,
        pension_eligible=status.pension_eligible,
        coverage=[
            CoverageOut(group=c.group, scheme_code=c.code, scheme_name=c.name, required=c.required)
            for c in status.coverage
        ],
        open_findings=status.open_findings,
        findings=_finding_out(list(status.findings)),
        run_id=status.run_id,
        as_of=status.as_of,
        updated_at=status.updated_at,
    )
