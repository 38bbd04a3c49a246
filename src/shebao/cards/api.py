"""API for the banks and the card vendor (mounted at /api/v1/cards), with their own token
credentials (`ApiToken` of a bank, branch or vendor user) and scope: a bank sees only its own
account-opening requests, a vendor only the production batches sent to it. Files travel
SM4-encrypted with an SM3 digest, exactly as on the pages.

Custody endpoints (/custody/…) serve the partner systems of the organisations along the card
chain (a district card office, a town or unit system, a bank branch): the cards in their
custody (holders' names masked), the handovers addressed to them, and confirming a handover by
the card numbers that arrived — the same services, checks and audit as the pages."""

from __future__ import annotations

import base64
import binascii
from datetime import date

from django.http import HttpRequest, HttpResponse
from ninja import File, Router, Schema
from ninja.files import UploadedFile

from shebao.accounts.choices import OrganisationKind
from shebao.accounts.models import User
from shebao.cards.domain.custody import HandoverStatus
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import Handover, HandoverItem
from shebao.cards.selectors.custody import cards_in_custody
from shebao.cards.selectors.issuing import account_requests_visible, production_batches_visible
from shebao.cards.services.applications import CounterInput
from shebao.cards.services.banking import account_request_export, account_results_import
from shebao.cards.services.cross_city import card_cross_city_service
from shebao.cards.services.custody import handover_confirm, handover_create
from shebao.cards.services.instant import application_instant_issue
from shebao.cards.services.production import (
    production_batch_vendor_file,
    production_results_import,
)
from shebao.errors import NotFound, PermissionDenied, ValidationFailed
from shebao.identity.masking import mask_name

router = Router()

_BANK_KINDS = (OrganisationKind.BANK, OrganisationKind.BANK_BRANCH)
_CUSTODY_KINDS = (
    OrganisationKind.CARD_CENTRE,
    OrganisationKind.DISTRICT_CARD_OFFICE,
    OrganisationKind.DEPARTMENT,
    OrganisationKind.TOWN_OFFICE,
    OrganisationKind.VILLAGE_COMMITTEE,
    OrganisationKind.EMPLOYER,
    OrganisationKind.PUBLIC_INSTITUTION,
    OrganisationKind.SCHOOL,
    OrganisationKind.BANK_BRANCH,
)
_MAX_LIST = 5_000


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
        raise PermissionDenied("本接口不对贵机构开放", "WRONG_PARTNER")
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


# ---------------------------------------------------------------- custody (卡片交接)


class CustodyCardOut(Schema):
    card_number: str
    status: str
    status_label: str
    holder: str  # masked name


class CustodyCardsOut(Schema):
    organisation: str
    total: int
    offset: int
    cards: list[CustodyCardOut]


class HandoverOut(Schema):
    number: str
    kind: str
    status: str
    from_organisation: str
    to_organisation: str
    listed_count: int
    dispatched_at: str | None
    card_numbers: list[str]


class HandoverCreateIn(Schema):
    to_organisation: str  # the receiving organisation's code
    card_numbers: list[str]


class HandoverConfirmIn(Schema):
    card_numbers: list[str]


class HandoverConfirmOut(Schema):
    number: str
    status: str
    received: list[str]
    missing: list[str]
    extra: list[str]
    arrived_for_pickup: int


def _custody_user(request: HttpRequest) -> User:
    user = _user(request, _CUSTODY_KINDS)
    if user.organisation is None:
        raise PermissionDenied("令牌未归属任何经办机构", "CUSTODY_NO_ORG")
    return user


def _handover_out(handover: Handover) -> HandoverOut:
    return HandoverOut(
        number=handover.number,
        kind=handover.kind,
        status=handover.status,
        from_organisation=handover.from_organisation.code,
        to_organisation=handover.to_organisation.code,
        listed_count=handover.listed_count,
        dispatched_at=handover.dispatched_at.isoformat() if handover.dispatched_at else None,
        card_numbers=list(
            HandoverItem.objects.filter(handover=handover, card__isnull=False)
            .order_by("code")
            .values_list("code", flat=True)
        ),
    )


@router.get(
    "/custody/cards",
    response={200: CustodyCardsOut, 403: ErrorOut},
    summary="本机构保管的卡片",
    description="交接链上的机构（区卡办、镇街、单位、村居、银行网点）查看当前由本机构保管的卡片；"
    "持卡人姓名脱敏。可按卡状态筛选（made 已制卡 / awaiting_pickup 待领取），"
    "分页 offset、limit（至多5000）。",
)
def custody_cards(
    request: HttpRequest, status: str = "", offset: int = 0, limit: int = 1000
) -> CustodyCardsOut:
    user = _custody_user(request)
    assert user.organisation is not None  # noqa: S101 - checked above
    qs = cards_in_custody(organisation=user.organisation)
    if status:
        qs = qs.filter(status=status)
    # An offset past any list is an empty page, not a database integer overflow (a 500).
    offset, limit = min(max(offset, 0), 10**12), min(max(limit, 1), _MAX_LIST)
    return CustodyCardsOut(
        organisation=user.organisation.code,
        total=qs.count(),
        offset=offset,
        cards=[
            CustodyCardOut(
                card_number=c.card_number,
                status=c.status,
                status_label=CardStatus(c.status).label,
                holder=mask_name(c.person.name),
            )
            for c in qs[offset : offset + limit]
        ],
    )


@router.get(
    "/custody/handovers",
    response={200: list[HandoverOut], 403: ErrorOut},
    summary="待本机构接收的交接单",
    description="已发出、接收方为本机构、尚未确认的交接单及其卡号清单。",
)
def custody_handovers(request: HttpRequest) -> list[HandoverOut]:
    user = _custody_user(request)
    handovers = (
        Handover.objects.filter(
            to_organisation=user.organisation, status=HandoverStatus.DISPATCHED.value
        )
        .select_related("from_organisation", "to_organisation")
        .order_by("dispatched_at", "pk")[:500]
    )
    return [_handover_out(h) for h in handovers]


@router.post(
    "/custody/handovers",
    response={200: HandoverOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="发出卡片交接单",
    description="向相邻的上下级机构发出卡片交接单（按卡号）。任一卡号不能交接则整单不保存，逐行说明原因。",
)
def custody_handover_create(request: HttpRequest, payload: HandoverCreateIn) -> HandoverOut:
    from shebao.accounts.models import Organisation

    user = _custody_user(request)
    receiver = Organisation.objects.filter(code=payload.to_organisation, is_active=True).first()
    if receiver is None:
        raise NotFound("接收单位不存在", code="ORGANISATION_NOT_FOUND")
    handover = handover_create(
        actor=user, to_organisation_id=receiver.pk, card_numbers="\n".join(payload.card_numbers)
    )
    return _handover_out(handover)


@router.post(
    "/custody/handovers/{number}/confirm",
    response={200: HandoverConfirmOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="按卡号确认接收交接单",
    description="接收方列出实际到达的卡号：清单内且到达的转由本机构保管，清单内未到达的为短少（仍由发出方保管），"
    "清单外到达的为多出（记录备查，不转移）。",
)
def custody_handover_confirm(
    request: HttpRequest, number: str, payload: HandoverConfirmIn
) -> HandoverConfirmOut:
    user = _custody_user(request)
    handover = Handover.objects.filter(number=number, to_organisation=user.organisation).first()
    if handover is None:
        raise NotFound("交接单不存在或不是发给本机构的", code="HANDOVER_NOT_FOUND")
    result = handover_confirm(
        actor=user, handover_id=handover.pk, arrived="\n".join(payload.card_numbers)
    )
    handover.refresh_from_db()
    return HandoverConfirmOut(
        number=handover.number,
        status=handover.status,
        received=list(result.received),
        missing=list(result.missing),
        extra=list(result.extra),
        arrived_for_pickup=result.arrived_for_pickup,
    )


# ---------------------------------------------------------------- instant issuance (bank branch)


class InstantIssueIn(Schema):
    id_number: str
    name: str
    phone: str
    account_number: str
    use_police_photo: bool = False
    photo_base64: str = ""  # JPEG, base64; or use_police_photo


class InstantIssueOut(Schema):
    application: int
    status: str
    issued: bool
    card_number: str | None
    reasons: list[str]
    messages: str


@router.post(
    "/instant-issuance",
    response={200: InstantIssueOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="即时制卡（银行网点）",
    description="合作银行网点现场申领、即时制卡：按制卡条件检查申领人（人口库、姓名须与人口库一致、"
    "照片、是否已持卡、重复申领、联系电话），符合条件的当场制卡发放并记录本行开立的银行账号；"
    "不符合条件的登记原因（reasons 为原因代码），不制卡。照片：photo_base64（JPEG）或 "
    "use_police_photo=true 使用公安部门的身份证照片，二者必选其一。",
)
def instant_issuance(request: HttpRequest, payload: InstantIssueIn) -> InstantIssueOut:
    user = _user(request, _BANK_KINDS)
    photo: bytes | None = None
    if payload.photo_base64:
        try:
            photo = base64.b64decode(payload.photo_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationFailed(
                "照片不是有效的 base64 编码",
                code="PHOTO_BASE64_INVALID",
                details=[{"field": "photo_base64", "reason": "不是有效的 base64 编码"}],
            ) from exc
    app = application_instant_issue(
        actor=user,
        data=CounterInput(
            id_number=payload.id_number,
            name=payload.name,
            bank_id=None,
            phone=payload.phone,
            photo=photo,
            use_police_photo=payload.use_police_photo and photo is None,
        ),
        account_number=payload.account_number,
    )
    return InstantIssueOut(
        application=app.pk,
        status=app.status,
        issued=app.card is not None,
        card_number=app.card.card_number if app.card else None,
        reasons=[r for r in app.reasons.split(";") if r],
        messages=app.messages,
    )


# ---------------------------------------------------------------- 异地通办 (cross-city service)


class CrossCityServiceIn(Schema):
    card_number: str
    holder_id_number: str
    service: str  # temporary_loss | loss | unlock | reset_pin | change_information
    note: str = ""  # required for change_information: which item changed


class CrossCityServiceOut(Schema):
    card_number: str
    status: str
    status_label: str
    home_region: str
    holder_name: str  # masked


@router.post(
    "/cross-city/service",
    response={200: CrossCityServiceOut, 403: ErrorOut, 422: ErrorOut},
    summary="异地通办（本省其他城市的卡）",
    description="持卡人本人持卡到场，在本省其他城市的柜台（银行网点只限本行的卡）办理。service："
    "temporary_loss（临时挂失）、loss（正式挂失）、unlock（解挂）、reset_pin（密码重置）、"
    "change_information（信息变更，note 写明变更项）。卡号与身份证号码须属同一持卡人，"
    "否则拒绝且不说明该卡是否存在（CROSS_CITY_MISMATCH）；外省的卡拒绝"
    "（CROSS_CITY_OTHER_PROVINCE）；注销、补领、换领、激活不能异地办理"
    "（CROSS_CITY_NOT_ALLOWED）。每次核验、拒绝和办理都记入审计（cross_city，注明发卡地）。",
)
def cross_city_service(request: HttpRequest, payload: CrossCityServiceIn) -> CrossCityServiceOut:
    user = _user(
        request, (*_BANK_KINDS, OrganisationKind.CARD_CENTRE, OrganisationKind.DISTRICT_CARD_OFFICE,
                  OrganisationKind.TOWN_OFFICE)
    )  # fmt: skip
    card = card_cross_city_service(
        actor=user,
        card_number=payload.card_number,
        holder_id_number=payload.holder_id_number,
        action=payload.service,
        note=payload.note,
    )
    return CrossCityServiceOut(
        card_number=card.card_number,
        status=card.status,
        status_label=CardStatus(card.status).label,
        home_region=card.issuing_region_id or card.person.hukou_region_id or "",
        holder_name=mask_name(card.person.name),
    )
