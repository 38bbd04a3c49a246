"""API for the banks and the card vendor (mounted at /api/v1/cards), with their own token
credentials (`ApiToken` of a bank, branch or vendor user) and scope: a bank sees only its own
account-opening requests, a vendor only the production batches sent to it. Files travel
SM4-encrypted with an SM3 digest, exactly as on the pages."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from ninja import File, Router, Schema
from ninja.files import UploadedFile

from shebao.accounts.choices import OrganisationKind
from shebao.accounts.models import User
from shebao.cards.selectors.issuing import account_requests_visible, production_batches_visible
from shebao.cards.services.banking import account_request_export, account_results_import
from shebao.cards.services.production import (
    production_batch_vendor_file,
    production_results_import,
)
from shebao.errors import NotFound, PermissionDenied

router = Router()

_BANK_KINDS = (OrganisationKind.BANK, OrganisationKind.BANK_BRANCH)


class ErrorDetail(Schema):
    code: str
    message: str
    details: list[dict[str, object]]


class ErrorOut(Schema):
    error: ErrorDetail


class AccountRequestOut(Schema):
    code: str
    bank: str
    branch: str
    status: str
    record_count: int
    opened_count: int
    failed_count: int
    sent_on: date | None
    due_on: date | None


class ImportOut(Schema):
    reference: str
    done: int
    failed: int
    unchanged: int
    already_imported: bool


class ProductionBatchOut(Schema):
    code: str
    status: str
    card_count: int
    made_count: int
    failed_count: int


def _user(request: HttpRequest, kinds: tuple[str, ...]) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("未登录或令牌无效", "UNAUTHENTICATED")
    org = user.organisation
    if not user.is_superuser and (org is None or org.kind not in kinds):
        raise PermissionDenied("本接口仅供合作银行或制卡厂商使用", "WRONG_PARTNER")
    return user


def _file_response(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{name}.sm4"'
    return response


@router.get(
    "/account-requests",
    response={200: list[AccountRequestOut], 403: ErrorOut},
    summary="本行的开户请求",
    description="合作银行（或其网点）查看发给本行的开户请求、接收日期与应完成日期（15个工作日）。",
)
def account_requests(request: HttpRequest) -> list[AccountRequestOut]:
    user = _user(request, (*_BANK_KINDS, OrganisationKind.CARD_CENTRE))
    return [
        AccountRequestOut(
            code=r.code,
            bank=r.bank.name,
            branch=r.branch.name if r.branch else "",
            status=r.status,
            record_count=r.record_count,
            opened_count=r.opened_count,
            failed_count=r.failed_count,
            sent_on=r.sent_on,
            due_on=r.due_on,
        )
        for r in account_requests_visible(user).order_by("-created_at", "-pk")[:500]
    ]


@router.get(
    "/account-requests/{code}/file",
    response={200: bytes, 403: ErrorOut, 404: ErrorOut},
    summary="下载开户数据（SM4 加密）",
    description="首次下载即视为银行已接收，开始计算 15 个工作日的开户期限。",
)
def account_request_file(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request, _BANK_KINDS)
    found = account_requests_visible(user).filter(code=code).first()
    if found is None:
        raise NotFound("开户请求不存在")
    req, data = account_request_export(actor=user, request_id=found.pk)
    return _file_response(data, req.code)


@router.post(
    "/account-requests/results",
    response={200: ImportOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="上传开户结果（SM4 加密回盘）",
    description="列：社会保障号码、开户结果（成功/失败）、银行账号、失败原因。整份导入或整份拒绝；重复上传不重复记账。",
)
def account_results(request: HttpRequest, file: UploadedFile = File(...)) -> ImportOut:  # noqa: B008
    user = _user(request, _BANK_KINDS)
    result = account_results_import(actor=user, data=b"".join(file.chunks()))
    return ImportOut(
        reference=result.request.code,
        done=result.opened,
        failed=result.failed,
        unchanged=result.unchanged,
        already_imported=result.already_imported,
    )


@router.get(
    "/production-batches",
    response={200: list[ProductionBatchOut], 403: ErrorOut},
    summary="发给本厂商的制卡批次",
)
def production_batches(request: HttpRequest) -> list[ProductionBatchOut]:
    user = _user(request, (OrganisationKind.CARD_VENDOR,))
    return [
        ProductionBatchOut(
            code=b.code,
            status=b.status,
            card_count=b.card_count,
            made_count=b.made_count,
            failed_count=b.failed_count,
        )
        for b in production_batches_visible(user).order_by("-created_at", "-pk")[:500]
    ]


@router.get(
    "/production-batches/{code}/file",
    response={200: bytes, 403: ErrorOut, 404: ErrorOut},
    summary="下载制卡数据（SM4 加密）",
)
def production_batch_file(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request, (OrganisationKind.CARD_VENDOR,))
    batch, data = production_batch_vendor_file(actor=user, code=code)
    return _file_response(data, batch.code)


@router.post(
    "/production-batches/results",
    response={200: ImportOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="上传制卡结果（SM4 加密回盘）",
    description="列：社保卡号、社会保障号码、制卡结果（成功/失败）、失败原因。",
)
def production_results(request: HttpRequest, file: UploadedFile = File(...)) -> ImportOut:  # noqa: B008
    user = _user(request, (OrganisationKind.CARD_VENDOR,))
    result = production_results_import(actor=user, data=b"".join(file.chunks()))
    return ImportOut(
        reference=result.batch.code,
        done=result.made,
        failed=result.failed,
        unchanged=result.unchanged,
        already_imported=result.already_imported,
    )
