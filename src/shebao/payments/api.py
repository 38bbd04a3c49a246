"""API of payments into the card (mounted at /api/v1/payments), scoped exactly as the pages:
a paying office sees only its own programmes' batches, the auditor and the card centre read
their region's, a cooperating bank only the payment files addressed to it (a branch only its
own). Out-of-scope records answer 404, never revealing that they exist. Personal data in
rows is masked and every answer that lists rows is audited with the purpose 待遇及补贴发放.

Files travel SM4-encrypted with an SM3 digest (the cards' exchange format), exactly as on
the pages."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime

from django.http import HttpRequest, HttpResponse
from ninja import File, Query, Router, Schema
from ninja.files import UploadedFile

from shebao.accounts.models import User
from shebao.errors import PermissionDenied
from shebao.identity.masking import mask_id_number, mask_name
from shebao.payments.domain.batch_lifecycle import BatchStatus
from shebao.payments.models import PaymentBatch
from shebao.payments.roles import BANK_ROLES, BATCH_VIEW_ROLES, OFFICE_ROLES
from shebao.payments.selectors import (
    bank_file_visible_get,
    bank_files_visible,
    batch_reconciliation_view,
    batch_rows,
    batch_visible_get,
    batches_visible,
)
from shebao.payments.selectors_withholding import (
    deduction_file_visible_get,
    deduction_files_visible,
)
from shebao.payments.services.bank import payment_file_download, payment_results_import
from shebao.payments.services.batches import payment_batch_approve
from shebao.payments.services.viewing import payment_rows_viewed
from shebao.payments.services.withholding import (
    deduction_file_download,
    deduction_results_import,
)

router = Router()

_MAX_LIST = 500
_MAX_ROWS = 5_000


class ErrorDetail(Schema):
    code: str
    message: str
    details: list[dict[str, object]]


class ErrorOut(Schema):
    error: ErrorDetail


class BatchOut(Schema):
    code: str
    programme: str
    paying_office: str
    period: str
    period_start: date
    status: str
    status_label: str
    row_count: int
    payable_count: int
    payable_fen: int
    problem_count: int
    dropped_count: int
    prepared_at: datetime
    approved_at: datetime | None


class RowOut(Schema):
    row: int
    id_number: str  # masked
    name: str  # masked
    amount_fen: int | None
    payable: bool
    dropped: bool
    reasons: list[str]
    bank_status: str


class BankFileOut(Schema):
    code: str
    batch: str
    programme: str
    period: str
    bank: str
    branch: str
    status: str
    record_count: int
    total_fen: int
    paid_count: int
    paid_fen: int
    failed_count: int
    failed_fen: int
    created_at: datetime


class BatchQuery(Schema):
    q: str = ""
    status: str = ""


def _user(request: HttpRequest, roles: frozenset[str]) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("未登录或令牌无效", "UNAUTHENTICATED")
    if not user.is_superuser and not user.has_role(*roles):
        raise PermissionDenied("本接口不对您的角色开放", "PAYMENT_ROLE_REQUIRED")
    return user


def _batch_out(b: PaymentBatch) -> BatchOut:
    return BatchOut(
        code=b.code,
        programme=b.programme.name,
        paying_office=b.programme.paying_office.name,
        period=b.period,
        period_start=b.period_start,
        status=b.status,
        status_label=BatchStatus(b.status).label,
        row_count=b.row_count,
        payable_count=b.payable_count,
        payable_fen=b.payable_fen,
        problem_count=b.problem_count,
        dropped_count=b.dropped_count,
        prepared_at=b.prepared_at,
        approved_at=b.approved_at,
    )


@router.get(
    "/batches",
    response={200: list[BatchOut], 403: ErrorOut},
    summary="发放批次",
    description="本机构发放项目的批次（审计员、卡中心：本辖区全部批次），最新的在前，最多 500 个。",
)
def batches(request: HttpRequest, filters: Query[BatchQuery]) -> list[BatchOut]:
    user = _user(request, BATCH_VIEW_ROLES)
    found = batches_visible(user, search=filters.q, status=filters.status)[:_MAX_LIST]
    return [_batch_out(b) for b in found]


@router.get(
    "/batches/{code}",
    response={200: BatchOut, 403: ErrorOut, 404: ErrorOut},
    summary="发放批次概况",
)
def batch(request: HttpRequest, code: str) -> BatchOut:
    user = _user(request, BATCH_VIEW_ROLES)
    return _batch_out(batch_visible_get(user, code))


@router.get(
    "/batches/{code}/rows",
    response={200: list[RowOut], 403: ErrorOut, 404: ErrorOut},
    summary="发放明细（脱敏）",
    description="problems=true 只返回有问题且未剔除的明细。姓名、号码脱敏；每次查询记入审计日志。",
)
def rows(request: HttpRequest, code: str, problems: bool = False) -> list[RowOut]:
    user = _user(request, BATCH_VIEW_ROLES)
    found = batch_visible_get(user, code)
    selected = list(batch_rows(found, problems_only=problems)[:_MAX_ROWS])
    payment_rows_viewed(
        actor=user, batch=found, row_numbers=[r.row_number for r in selected], channel_note="API"
    )
    out = []
    for r in selected:
        line = getattr(r, "bank_line", None)
        out.append(
            RowOut(
                row=r.row_number,
                id_number=mask_id_number(r.id_number),
                name=mask_name(r.name),
                amount_fen=r.amount_fen,
                payable=r.payable,
                dropped=r.dropped,
                reasons=list(r.reason_codes),
                bank_status=line.status if line is not None else "",
            )
        )
    return out


class ApproveIn(Schema):
    note: str = ""


@router.post(
    "/batches/{code}/approve",
    response={200: BatchOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="审批发放批次（复核）",
    description="制作、校验、更正或提交本批次的经办人不能审批（403 PAYMENT_MAKER_CANNOT_APPROVE）。"
    "审批即冻结：收款人、账户和金额不再随人员或卡片信息变化。",
)
def approve(request: HttpRequest, code: str, payload: ApproveIn) -> BatchOut:
    user = _user(request, OFFICE_ROLES)
    found = batch_visible_get(user, code)
    approved = payment_batch_approve(actor=user, batch_id=found.pk, note=payload.note)
    return _batch_out(batch_visible_get(user, approved.code))


def _file_out_list(user: User) -> list[BankFileOut]:
    return [
        BankFileOut(
            code=f.code,
            batch=f.batch.code,
            programme=f.batch.programme.name,
            period=f.batch.period,
            bank=f.bank.name,
            branch=f.branch.name if f.branch else "",
            status=f.status,
            record_count=f.record_count,
            total_fen=f.total_fen,
            paid_count=f.paid_count,
            paid_fen=f.paid_fen,
            failed_count=f.failed_count,
            failed_fen=f.failed_fen,
            created_at=f.created_at,
        )
        for f in bank_files_visible(user)[:_MAX_LIST]
    ]


@router.get(
    "/bank-files",
    response={200: list[BankFileOut], 403: ErrorOut},
    summary="银行发放文件",
    description="合作银行：发给本行的发放文件（网点只见发给本网点的）；发放机构、审计员：所见批次的文件。",
)
def bank_files(request: HttpRequest) -> list[BankFileOut]:
    user = _user(request, BANK_ROLES | BATCH_VIEW_ROLES)
    return _file_out_list(user)


def _file_response(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{name}.sm4"'
    return response


@router.get(
    "/bank-files/{code}/file",
    response={200: bytes, 403: ErrorOut, 404: ErrorOut},
    summary="下载发放文件（SM4 加密）",
    description="只有收件银行（网点：只有发给本网点的）可以下载；首次下载即视为已发送银行。",
)
def bank_file_download(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request, BANK_ROLES)
    found = bank_file_visible_get(user, code)
    record, data = payment_file_download(actor=user, file_id=found.pk)
    return _file_response(data, record.code)


class ResultsOut(Schema):
    file: str
    paid: int
    failed: int
    unchanged: int
    never_sent: int
    already_imported: bool


@router.post(
    "/bank-files/results",
    response={200: ResultsOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="上传发放结果（SM4 加密回盘）",
    description="列：流水号、社会保障号码、银行账号、结果（成功/失败）、金额、失败原因。"
    "整份导入或整份拒绝（指明行和列）；同一文件重复上传不重复记账。",
)
def bank_results(request: HttpRequest, file: UploadedFile = File(...)) -> ResultsOut:  # noqa: B008
    user = _user(request, BANK_ROLES)
    result = payment_results_import(actor=user, data=b"".join(file.chunks()))
    return ResultsOut(
        file=result.file.code,
        paid=result.paid,
        failed=result.failed,
        unchanged=result.unchanged,
        never_sent=result.never_sent,
        already_imported=result.already_imported,
    )


class BankTotalsOut(Schema):
    bank: str
    sent_count: int
    sent_fen: int
    paid_count: int
    paid_fen: int
    failed_count: int
    failed_fen: int
    pending_count: int
    pending_fen: int
    overdue_count: int


class DifferenceOut(Schema):
    bank: str
    kind: str
    label: str
    reference: str
    sent_fen: int | None
    reported_fen: int | None


class ReconciliationOut(Schema):
    batch: str
    totals: list[BankTotalsOut]
    differences: list[DifferenceOut]


@router.get(
    "/batches/{code}/reconciliation",
    response={200: ReconciliationOut, 403: ErrorOut, 404: ErrorOut},
    summary="批次对账（精确到分）",
    description="按合作银行：发送、成功、失败、待回盘的笔数和金额（分），以及每一处差异"
    "（回盘中有未发送的记录、实发金额不符、回盘结果前后不一致、超过期限仍无回盘）。",
)
def reconciliation(request: HttpRequest, code: str) -> ReconciliationOut:
    user = _user(request, BATCH_VIEW_ROLES)
    found = batch_visible_get(user, code)
    view = batch_reconciliation_view(actor=user, batch=found)
    return ReconciliationOut(
        batch=found.code,
        totals=[BankTotalsOut(**asdict(t)) for t in view.totals],
        differences=[DifferenceOut(**asdict(d)) for d in view.differences],
    )


# ---- contributions from the card account (代扣): the bank's deduction files ------------------


class DeductionFileOut(Schema):
    code: str
    bank: str
    scheme: str
    period: str
    status: str
    record_count: int
    total_fen: int
    deducted_count: int
    deducted_fen: int
    failed_count: int
    failed_fen: int
    created_at: datetime
    download_count: int


@router.get(
    "/deduction-files",
    response={200: list[DeductionFileOut], 403: ErrorOut},
    summary="代扣文件",
    description="合作银行：发给本行的月度代扣文件（代扣文件发给总行，网点没有）；"
    "发放机构、审计员：全部。金额以分计，含扣款成功和失败的笔数与金额。",
)
def deduction_files(request: HttpRequest) -> list[DeductionFileOut]:
    user = _user(request, BANK_ROLES | BATCH_VIEW_ROLES)
    return [
        DeductionFileOut(
            code=f.code,
            bank=f.bank.name,
            scheme=f.scheme_id,
            period=f.period,
            status=f.status,
            record_count=f.record_count,
            total_fen=f.total_fen,
            deducted_count=f.deducted_count,
            deducted_fen=f.deducted_fen,
            failed_count=f.failed_count,
            failed_fen=f.failed_fen,
            created_at=f.created_at,
            download_count=f.download_count,
        )
        for f in deduction_files_visible(user)[:_MAX_LIST]
    ]


@router.get(
    "/deduction-files/{code}/file",
    response={200: bytes, 403: ErrorOut, 404: ErrorOut},
    summary="下载代扣文件（SM4 加密）",
    description="只有收件银行可以下载（其他银行、网点：404）；首次下载即视为已发送银行。",
)
def deduction_file(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request, BANK_ROLES)
    found = deduction_file_visible_get(user, code)
    record, data = deduction_file_download(actor=user, file_id=found.pk)
    return _file_response(data, record.code)


class DeductionResultsOut(Schema):
    file: str
    deducted: int
    failed: int
    already_imported: bool


@router.post(
    "/deduction-files/results",
    response={200: DeductionResultsOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="上传代扣结果（SM4 加密回盘）",
    description="列：流水号、社会保障号码、银行账号、结果（成功/失败）、金额、失败原因。"
    "整份导入或整份拒绝（指明行和列）；同一文件重复上传不重复记账。",
)
def deduction_results(
    request: HttpRequest,
    file: UploadedFile = File(...),  # noqa: B008
) -> DeductionResultsOut:
    user = _user(request, BANK_ROLES)
    result = deduction_results_import(actor=user, data=b"".join(file.chunks()))
    return DeductionResultsOut(
        file=result.file.code,
        deducted=result.deducted,
        failed=result.failed,
        already_imported=result.already_imported,
    )
