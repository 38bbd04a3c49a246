"""Pages of the custody chain and the card's life at the counter:

- 卡片交接 (custody/): what the organisation holds, handovers to confirm, dispatch screen
  (typed or scanned card numbers), each handover with its missing and extra cards;
- 领卡发放 (custody/pickup/): the holder's identity check and signature at the point of issue;
- 领卡签收表 (custody/receipts/): printable sheets per batch, sealing, sending them up;
- 交接短少 (custody/shortages/): the discrepancy queue, each short card found or lost;
- 逾期回收 (custody/recall/) with totals per town and village, and 工作补助经费
  (custody/subsidy/) per town and village, with its spreadsheet;
- 卡片业务 (counter/): activation, loss, unlock, PIN, information change, replacement,
  renewal, cancellation — at a bank branch for its own customers or a card office counter;
- 申领进度查询 (self-service/): the citizen's page, in `self_service` (identity checked by a
  one-time code to the phone on record).

Views parse the request, call a selector or a service, and render; scoping, masking and
auditing are in those.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Final

import polars as pl
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.decorators import staff_required
from shebao.accounts.models import Organisation, User
from shebao.cards.domain.custody import (
    HandoverKind,
    HandoverStatus,
    ReceiptLineOutcome,
    ReceiptStatus,
    ShortageResolution,
)
from shebao.cards.domain.lifecycle import (
    CardEvent,
    CardStatus,
    FeeKind,
    RenewalReason,
    allowed_events,
)
from shebao.cards.domain.xlsx import Sheet
from shebao.cards.models import (
    Card,
    Handover,
    ReceiptLine,
)
from shebao.cards.selectors.custody import (
    card_by_number,
    card_history,
    card_of_holder,
    cards_in_custody,
    cards_overdue,
    cards_scoped,
    handover_for,
    handovers_of,
    issuing_policy,
    overdue_totals,
    receipt_for,
    receipt_lines,
    receipts_held_by,
    recipient_options,
    shortages_for,
    subsidy_by_village,
)
from shebao.cards.selectors.person import CHANNEL_LABELS
from shebao.cards.services import card_life
from shebao.cards.services.custody import (
    PickupInput,
    adjacent_organisations,
    card_pickup,
    cards_recall_overdue,
    handover_cancel,
    handover_confirm,
    handover_create,
    handover_shortage_resolve,
    receipt_seal,
)
from shebao.cards.views.downloads import xlsx_attachment
from shebao.cards.views.reissue import reissue_counter_context
from shebao.cards.views.self_service import self_service
from shebao.errors import NotFound, PermissionDenied, ShebaoError
from shebao.identity.id_number import normalize_id_number
from shebao.identity.masking import mask_id_number, mask_name
from shebao.pages import breadcrumbs as _crumbs
from shebao.pages import error_page as _error_page
from shebao.pages import paginate as _page

COUNTER_SESSION_KEY: Final[str] = "cards_counter_card"


# ---------------------------------------------------------------- helpers


def _actor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("请先登录", code="UNAUTHENTICATED")
    return user


def _organisation(actor: User) -> Organisation:
    org = actor.organisation
    if org is None:
        raise PermissionDenied("您未归属任何经办机构", code="CUSTODY_NO_ORG")
    return org


def _holder_row(card: Card) -> dict[str, Any]:
    return {
        "card": card,
        "name": mask_name(card.person.name),
        "id_number": mask_id_number(card.person.id_number),
        "status": CardStatus(card.status).label,
    }


# ---------------------------------------------------------------- handovers


@staff_required
@require_http_methods(["GET"])
def custody_home(request: HttpRequest) -> HttpResponse:
    try:
        actor = _actor(request)
        org = _organisation(actor)
    except ShebaoError as exc:
        return _error_page(request, exc)
    return _render_home(request, actor, org)


def _render_home(
    request: HttpRequest,
    actor: User,
    org: Organisation,
    *,
    errors: list[dict[str, Any]] | None = None,
    error_message: str = "",
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    held = cards_in_custody(organisation=org)
    by_status = [
        (CardStatus(row["status"]).label, row["n"])
        for row in held.order_by().values("status").annotate(n=Count("id")).order_by("status")
    ]
    handovers = handovers_of(organisation=org)
    incoming = handovers.filter(to_organisation=org, status=HandoverStatus.DISPATCHED.value)
    adjacent = adjacent_organisations(org)
    status_filter = request.GET.get("status", "")
    listed = (
        held.filter(status=status_filter)
        if status_filter in {s.value for s in CardStatus}
        else held
    )
    cards_page = Paginator(listed, 50).get_page(request.GET.get("cards_page"))
    held_rows = [_holder_row(c) for c in cards_page.object_list]
    shown = [c.person_id for c in cards_page.object_list]
    if shown:
        # The page lists holders (masked): a view of personal data, audited (issue #14).
        with transaction.atomic():
            audit_record(
                actor=actor,
                action=AuditAction.VIEW_PERSON,
                target_type="custody_cards",
                target_id=org.pk,
                purpose=Purpose.CARD_SERVICE,
                detail={"person_ids": shown},
            )
    return render(
        request,
        "cards/custody/home.html",
        {
            "breadcrumbs": _crumbs(("卡片交接", "")),
            "organisation": org,
            "by_status": by_status,
            "held_total": sum(n for _, n in by_status),
            "incoming": incoming,
            "page": _page(request, handovers),
            "cards_page": cards_page,
            "held_rows": held_rows,
            "status_filter": status_filter,
            "open_shortages": shortages_for(actor=actor).count(),
            "down": recipient_options(organisation=org),
            "up": adjacent["up"],
            "errors": errors or [],
            "error_message": error_message,
            "form": form or {},
            "can_dispatch": bool(adjacent["down"] or adjacent["up"]),
        },
        status=status,
    )


@staff_required
@require_POST
def custody_dispatch(request: HttpRequest) -> HttpResponse:
    try:
        actor = _actor(request)
        org = _organisation(actor)
    except ShebaoError as exc:
        return _error_page(request, exc)
    to = request.POST.get("to", "")
    text = request.POST.get("card_numbers", "")
    kind = HandoverKind.RECALL if request.POST.get("direction") == "up" else HandoverKind.CARDS
    try:
        handover = handover_create(
            actor=actor,
            to_organisation_id=int(to) if to.isdigit() else 0,
            card_numbers=text,
            kind=kind,
            note=request.POST.get("note", ""),
        )
    except ShebaoError as exc:
        return _render_home(
            request, actor, org, errors=exc.details, error_message=exc.message,
            form={"to": to, "card_numbers": text}, status=400 if exc.status != 403 else 403,
        )  # fmt: skip
    messages.success(
        request,
        f"交接单 {handover.number} 已移交 {handover.to_organisation.name}，"
        f"共 {handover.listed_count} 张，待对方确认接收。",
    )
    return redirect("cards:handover_detail", pk=handover.pk)


def _handover_context(actor: User, handover: Handover) -> dict[str, Any]:
    items = list(handover.items.select_related("card", "card__person", "receipt").order_by("pk"))
    rows = [
        {
            "item": item,
            "name": mask_name(item.card.person.name) if item.card is not None else "",
            "id_number": mask_id_number(item.card.person.id_number)
            if item.card is not None
            else "",
        }
        for item in items
    ]
    org_id = actor.organisation_id
    return {
        "handover": handover,
        "rows": rows,
        "is_receiver": handover.to_organisation_id == org_id,
        "is_sender": handover.from_organisation_id == org_id,
        "can_receive": handover.to_organisation_id == org_id
        and handover.status == HandoverStatus.DISPATCHED.value,
        "can_cancel": handover.from_organisation_id == org_id
        and HandoverStatus(handover.status).is_open,
        "carries_cards": HandoverKind(handover.kind).carries_cards,
        "kind_label": HandoverKind(handover.kind).label,
        "status_label": HandoverStatus(handover.status).label,
        "receipt": getattr(handover, "receipt", None),
    }


def _audit_handover_holders(
    actor: User, handover: Handover, action: AuditAction, detail: dict[str, Any]
) -> None:
    """A handover page lists the holders of its cards (masked): audited as card work with
    the persons shown, as the custody page is."""
    shown = list(
        handover.items.filter(card__isnull=False)
        .values_list("card__person_id", flat=True)
        .distinct()[:1000]
    )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=action,
            target_type="handover",
            target_id=handover.pk,
            purpose=Purpose.CARD_SERVICE,
            detail={**detail, "person_ids": shown},
        )


@staff_required
@require_http_methods(["GET"])
def handover_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    handover = handover_for(actor=actor, handover_id=pk)
    if handover is None:
        return _error_page(request, PermissionDenied("没有该交接单，或您无权查看"))
    context = _handover_context(actor, handover)
    _audit_handover_holders(actor, handover, AuditAction.VIEW_PERSON, {})
    return render(
        request,
        "cards/custody/handover.html",
        {
            "breadcrumbs": _crumbs(
                ("卡片交接", reverse("cards:custody_home")), (f"交接单 {handover.number}", "")
            ),
            **context,
        },
    )


@staff_required
@require_POST
def handover_receive(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    handover = handover_for(actor=actor, handover_id=pk)
    if handover is None:
        return _error_page(request, PermissionDenied("没有该交接单，或您无权查看"))
    text = request.POST.get("arrived", "")
    try:
        result = handover_confirm(
            actor=actor,
            handover_id=pk,
            arrived=text,
            receipt_numbers=request.POST.getlist("receipt"),
        )
    except ShebaoError as exc:
        return render(
            request,
            "cards/custody/handover.html",
            {
                "breadcrumbs": _crumbs(
                    ("卡片交接", reverse("cards:custody_home")),
                    (f"交接单 {handover.number}", ""),
                ),
                **_handover_context(actor, handover),
                "errors": exc.details,
                "error_message": exc.message,
                "arrived": text,
            },
            status=403 if exc.status == 403 else 400,
        )
    if result.missing or result.extra:
        messages.warning(
            request,
            f"已确认接收 {len(result.received)} 张；短少 {len(result.missing)} 张，"
            f"多出 {len(result.extra)} 张，请与移交单位核实。",
        )
    else:
        messages.success(request, f"已确认接收 {len(result.received)} 张，与清单一致。")
    if result.arrived_for_pickup:
        messages.info(
            request, f"{result.arrived_for_pickup} 张卡已到达本发放点，可通知持卡人领取。"
        )
    return redirect("cards:handover_detail", pk=pk)


@staff_required
@require_POST
def handover_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    # A handover the actor cannot see answers as a missing one does (no existence oracle).
    if handover_for(actor=actor, handover_id=pk) is None:
        return _error_page(request, PermissionDenied("没有该交接单，或您无权查看"))
    try:
        handover = handover_cancel(actor=actor, handover_id=pk)
    except ShebaoError as exc:
        return _error_page(request, exc)
    messages.info(request, f"交接单 {handover.number} 已撤销。")
    return redirect("cards:handover_detail", pk=pk)


@staff_required
@require_http_methods(["GET"])
def handover_print(request: HttpRequest, pk: int) -> HttpResponse:
    """交接单 for printing: both units, the list of cards (holders masked), the counts, and
    lines for both sides' signatures and seals. Printing is audited."""
    actor = _actor(request)
    handover = handover_for(actor=actor, handover_id=pk)
    if handover is None:
        return _error_page(request, PermissionDenied("没有该交接单，或您无权查看"))
    context = _handover_context(actor, handover)
    _audit_handover_holders(
        actor,
        handover,
        AuditAction.EXPORT,
        {"items": len(context["rows"]), "masked": True, "as": "print"},
    )
    return render(
        request,
        "cards/custody/handover_print.html",
        {
            "breadcrumbs": _crumbs(
                ("卡片交接", reverse("cards:custody_home")),
                (f"交接单 {handover.number}", reverse("cards:handover_detail", args=[pk])),
                ("打印", ""),
            ),
            **context,
            "printed_at": timezone.localtime(),
        },
    )


# ---------------------------------------------------------------- shortages


@staff_required
@require_http_methods(["GET", "POST"])
def shortages(request: HttpRequest) -> HttpResponse:
    """交接短少: the cards listed in a handover but not counted by the receiver, until found
    (at the receiver or the sender) or confirmed lost."""
    actor = _actor(request)
    error: ShebaoError | None = None
    if request.method == "POST":
        item = request.POST.get("item", "")
        resolution = request.POST.get("resolution", "")
        try:
            if resolution not in {r.value for r in ShortageResolution}:
                raise ShebaoError(code="SHORTAGE_RESOLUTION_REQUIRED", message="请选择处理结果")
            done = handover_shortage_resolve(
                actor=actor,
                item_id=int(item) if item.isdigit() else 0,
                resolution=ShortageResolution(resolution),
                note=request.POST.get("note", ""),
            )
        except ShebaoError as exc:
            error = exc
        else:
            messages.success(
                request,
                f"卡号 {done.code} 已处理：{ShortageResolution(done.resolution).label}。",
            )
            return redirect("cards:shortages")
    page = _page(request, shortages_for(actor=actor))
    org_id = actor.organisation_id

    def row(item: Any) -> dict[str, Any]:
        card = item.card
        return {
            "item": item,
            "name": mask_name(card.person.name),
            "id_number": mask_id_number(card.person.id_number),
            "status": CardStatus(card.status).label,
            "is_receiver": item.handover.to_organisation_id == org_id,
        }

    settled = shortages_for(actor=actor, resolved=True)[:20]
    return render(
        request,
        "cards/custody/shortages.html",
        {
            "breadcrumbs": _crumbs(("卡片交接", reverse("cards:custody_home")), ("交接短少", "")),
            "rows": [row(i) for i in page.object_list],
            "page": page,
            "settled": [row(i) for i in settled],
            "resolutions": [(r.value, r.label) for r in ShortageResolution],
            "error": error,
        },
        status=(403 if error.status == 403 else 400) if error is not None else 200,
    )


# ---------------------------------------------------------------- pickup


@staff_required
@require_http_methods(["GET", "POST"])
def pickup(request: HttpRequest) -> HttpResponse:
    try:
        actor = _actor(request)
        org = _organisation(actor)
    except ShebaoError as exc:
        return _error_page(request, exc)
    error: ShebaoError | None = None
    form = {k: request.POST.get(k, "") for k in ("card_number", "agent_name")}
    if request.method == "POST":
        data = PickupInput(
            card_number=request.POST.get("card_number", ""),
            holder_id_number=request.POST.get("holder_id_number", ""),
            by_agent=request.POST.get("by_agent") == "1",
            agent_name=request.POST.get("agent_name", ""),
            agent_id_number=request.POST.get("agent_id_number", ""),
            agent_authorised=request.POST.get("agent_authorised") == "1",
            signed=request.POST.get("signed") == "1",
        )
        try:
            line = card_pickup(actor=actor, data=data, signature=request.FILES.get("signature"))
        except ShebaoError as exc:
            error = exc
        else:
            messages.success(
                request,
                f"卡号 {line.card.card_number} 已发放给"
                f"{'代领人' if line.by_agent else '持卡人本人'}，已记入领卡签收表。",
            )
            return redirect("cards:pickup")
    waiting = cards_in_custody(organisation=org).filter(status=CardStatus.AWAITING_PICKUP.value)
    holder = normalize_id_number(request.GET.get("holder", ""))
    if holder:
        waiting = waiting.filter(person__id_number=holder)
        with transaction.atomic():
            audit_record(
                actor=actor,
                action=AuditAction.VIEW_PERSON,
                target_type="card_pickup_lookup",
                purpose=Purpose.CARD_SERVICE.value,
                detail={"found": waiting.count(), "masked": True},
            )
    page = _page(request, waiting)
    return render(
        request,
        "cards/custody/pickup.html",
        {
            "breadcrumbs": _crumbs(("领卡发放", "")),
            "organisation": org,
            "rows": [_holder_row(c) for c in page.object_list],
            "page": page,
            "error": error,
            "form": form,
            "holder": holder,
        },
        status=(404 if error.status == 404 else 400) if error is not None else 200,
    )


# ---------------------------------------------------------------- receipts


@staff_required
@require_http_methods(["GET"])
def receipts(request: HttpRequest) -> HttpResponse:
    try:
        actor = _actor(request)
        org = _organisation(actor)
    except ShebaoError as exc:
        return _error_page(request, exc)
    held = receipts_held_by(organisation=org)
    return render(
        request,
        "cards/custody/receipts.html",
        {
            "breadcrumbs": _crumbs(("领卡签收表", "")),
            "organisation": org,
            "page": _page(request, held),
            "parent": org.parent,
            "sendable": held.filter(holder=org, status=ReceiptStatus.SEALED.value).exclude(
                handover_items__is_open=True
            ),
            "status_labels": {s.value: s.label for s in ReceiptStatus},
        },
    )


@staff_required
@require_http_methods(["GET"])
def receipt_print(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    receipt = receipt_for(actor=actor, receipt_id=pk)
    if receipt is None:
        return _error_page(request, PermissionDenied("没有该签收表，或您无权查看"))
    lines = list(receipt_lines(receipt=receipt))
    rows = [
        {
            "n": i,
            "line": line,
            "name": mask_name(line.card.person.name),
            "gender": line.card.person.get_gender_display(),
            "id_number": mask_id_number(line.card.person.id_number),
            "agent_id": mask_id_number(line.agent_id_number) if line.agent_id_number else "",
            "agent_name": mask_name(line.agent_name) if line.agent_name else "",
            "outcome": ReceiptLineOutcome(line.outcome).label,
        }
        for i, line in enumerate(lines, start=1)
    ]
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT,
            target_type="receipt",
            target_id=receipt.pk,
            detail={"lines": len(rows), "masked": True},
        )
    return render(
        request,
        "cards/custody/receipt_print.html",
        {
            "breadcrumbs": _crumbs(
                ("领卡签收表", reverse("cards:receipts")), (f"签收表 {receipt.number}", "")
            ),
            "receipt": receipt,
            "rows": rows,
            "picked": sum(1 for line in lines if line.outcome == ReceiptLineOutcome.PICKED_UP),
            "status_label": ReceiptStatus(receipt.status).label,
            "can_seal": receipt.status == ReceiptStatus.OPEN.value
            and receipt.organisation_id == actor.organisation_id,
        },
    )


@staff_required
@require_http_methods(["GET"])
def receipt_signature(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse | FileResponse:
    """The signature image of one pickup, for the printed sheet: served by the application
    (media files are not public), to those who may see the sheet."""
    actor = _actor(request)
    receipt = receipt_for(actor=actor, receipt_id=pk)
    line = (
        ReceiptLine.objects.filter(receipt=receipt, pk=line_pk).first()
        if receipt is not None
        else None
    )
    if line is None or not line.signature:
        return _error_page(request, NotFound("没有该签名图片", code="SIGNATURE_NOT_FOUND"))
    try:
        handle = line.signature.open("rb")
    except OSError:
        return _error_page(request, NotFound("签名图片文件缺失", code="SIGNATURE_FILE_MISSING"))
    response = FileResponse(handle, content_type=_image_type(line.signature.name or ""))
    response["Cache-Control"] = "private, no-store"
    return response


def _image_type(name: str) -> str:
    lower = name.lower()
    if lower.endswith((".jpg", ".jpeg")):
        return "image/jpeg"
    if lower.endswith(".gif"):
        return "image/gif"
    if lower.endswith(".webp"):
        return "image/webp"
    return "image/png"


@staff_required
@require_POST
def receipt_seal_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        receipt = receipt_seal(actor=_actor(request), receipt_id=pk)
    except ShebaoError as exc:
        messages.error(request, exc.message)
        return redirect("cards:receipt_print", pk=pk)
    messages.success(request, f"签收表 {receipt.number} 已汇总盖章，可交上级单位。")
    return redirect("cards:receipts")


@staff_required
@require_POST
def receipts_send(request: HttpRequest) -> HttpResponse:
    try:
        actor = _actor(request)
        org = _organisation(actor)
        if org.parent_id is None:
            raise PermissionDenied("本单位没有上级单位", code="HANDOVER_NO_PARENT")
        ids = [int(v) for v in request.POST.getlist("receipt") if v.isdigit()]
        handover = handover_create(
            actor=actor,
            to_organisation_id=org.parent_id,
            kind=HandoverKind.RECEIPTS,
            receipt_ids=ids,
        )
    except ShebaoError as exc:
        messages.error(request, exc.message)
        return redirect("cards:receipts")
    messages.success(
        request, f"已将 {handover.listed_count} 份签收表交 {handover.to_organisation}。"
    )
    return redirect("cards:handover_detail", pk=handover.pk)


# ---------------------------------------------------------------- recall and subsidy


@staff_required
@require_http_methods(["GET", "POST"])
def recall(request: HttpRequest) -> HttpResponse:
    try:
        actor = _actor(request)
        org = _organisation(actor)
    except ShebaoError as exc:
        return _error_page(request, exc)
    if request.method == "POST":
        try:
            if not (actor.is_superuser or actor.has_role(*_RECALL_ROLES)):
                raise PermissionDenied("您的角色不能回收卡片", code="RECALL_FORBIDDEN")
            result = cards_recall_overdue(actor=actor, within=org)
        except ShebaoError as exc:
            return _error_page(request, exc)
        messages.success(
            request,
            f"已回收逾期未领取卡片 {result.total} 张，发出回收交接单 {len(result.handovers)} 张。",
        )
        return redirect("cards:recall")
    policy = issuing_policy()
    within = cards_scoped(actor)
    overdue = cards_overdue(now=timezone.now(), policy=policy, within=within)
    page = _page(request, overdue)
    return render(
        request,
        "cards/custody/recall.html",
        {
            "breadcrumbs": _crumbs(("逾期回收", "")),
            "policy": policy,
            "totals": overdue_totals(overdue),
            "rows": [
                {**_holder_row(c), "arrived_at": getattr(c, "arrived_at", None)}
                for c in page.object_list
            ],
            "page": page,
            "total": page.paginator.count,
        },
    )


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@staff_required
@require_http_methods(["GET"])
def subsidy(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    start = _parse_date(request.GET.get("start"))
    end = _parse_date(request.GET.get("end"))
    rows, policy = subsidy_by_village(actor=actor, start=start, end=end)
    towns = [r for r in rows if r.level == "town"]
    query = "&".join(
        f"{k}={v.isoformat()}" for k, v in (("start", start), ("end", end)) if v is not None
    )
    return render(
        request,
        "cards/custody/subsidy.html",
        {
            "breadcrumbs": _crumbs(("工作补助经费", "")),
            "rows": rows,
            "policy": policy,
            "start": start,
            "end": end,
            "total_picked": sum(r.counts["picked_up"] for r in towns),
            "total_posted": sum(r.counts["posted"] for r in towns),
            "total_cards": sum(r.counts["total"] for r in towns),
            "total_amount": sum((r.amount for r in towns), Decimal("0.00")),
            "export_query": query,
        },
    )


@staff_required
@require_http_methods(["GET"])
def subsidy_export(request: HttpRequest) -> HttpResponse:
    """The subsidy table as a spreadsheet: town rows (小计), each followed by its villages."""
    actor = _actor(request)
    start = _parse_date(request.GET.get("start"))
    end = _parse_date(request.GET.get("end"))
    rows, policy = subsidy_by_village(actor=actor, start=start, end=end)
    towns = [r for r in rows if r.level == "town"]

    def total(key: str) -> int:
        return sum(r.counts[key] for r in towns)

    frame = pl.DataFrame(
        {
            "镇（街）": [r.name if r.level == "town" else "" for r in rows] + ["合计"],
            "村（社区）/发放点": [r.name if r.level == "village" else "小计" for r in rows] + [""],
            "区划代码": [r.code for r in rows] + [""],
            "现场领取（张）": [r.counts["picked_up"] for r in rows] + [total("picked_up")],
            "邮寄签收（张）": [r.counts["posted"] for r in rows] + [total("posted")],
            "已发放合计（张）": [r.counts["total"] for r in rows] + [total("total")],
            "补助经费（元）": [str(r.amount) for r in rows]
            + [str(sum((r.amount for r in towns), Decimal("0.00")))],
        },
        schema_overrides={
            "现场领取（张）": pl.Int64,
            "邮寄签收（张）": pl.Int64,
            "已发放合计（张）": pl.Int64,
        },
    )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT,
            target_type="card_subsidy",
            detail={
                "rows": len(rows),
                "start": start.isoformat() if start else "",
                "end": end.isoformat() if end else "",
                "per_card": str(policy.subsidy_per_card),
            },
        )
    span = f"{start or ''}至{end or ''}" if start or end else timezone.localdate().isoformat()
    return xlsx_attachment(
        [Sheet("工作补助经费", frame, widths=(16, 22, 14, 14, 14, 16, 14))],
        f"工作补助经费-{span}.xlsx",
    )


# ---------------------------------------------------------------- the counter


_COUNTER_ACTIONS: Final[dict[str, tuple[str, CardEvent]]] = {
    "activate": ("激活", CardEvent.ACTIVATE),
    "temporary_loss": ("临时挂失", CardEvent.REPORT_TEMPORARY_LOSS),
    "loss": ("正式挂失", CardEvent.REPORT_LOSS),
    "unlock": ("解挂", CardEvent.UNLOCK),
    "reset_pin": ("密码重置", CardEvent.RESET_PIN),
    "change_information": ("信息变更", CardEvent.CHANGE_INFORMATION),
    "replace": ("补领", CardEvent.REPLACE),
    "renew": ("换领", CardEvent.RENEW),
    "cancel": ("注销", CardEvent.CANCEL),
}
_RECALL_ROLES: Final[frozenset[str]] = frozenset(
    {"card_centre_operator", "district_clerk", "town_clerk", "village_clerk", "system_admin"}
)


def _counter_do(actor: User, card: Card, action: str, post: Any) -> str:
    if action == "activate":
        card_life.card_activate(actor=actor, card_id=card.pk)
    elif action == "temporary_loss":
        card_life.card_report_temporary_loss(actor=actor, card_id=card.pk, channel="counter")
    elif action == "loss":
        card_life.card_report_loss(actor=actor, card_id=card.pk)
    elif action == "unlock":
        card_life.card_unlock(actor=actor, card_id=card.pk)
    elif action == "reset_pin":
        card_life.card_reset_pin(actor=actor, card_id=card.pk)
    elif action == "change_information":
        card_life.card_change_information(actor=actor, card_id=card.pk, what=post.get("what", ""))
    elif action in ("replace", "renew"):
        reason = post.get("reason", "")
        reissue = card_life.card_reissue(
            actor=actor,
            card_id=card.pk,
            kind=FeeKind.REPLACEMENT if action == "replace" else FeeKind.RENEWAL,
            reason=RenewalReason.parse(reason),
        )
        new = reissue.new_card
        label = _COUNTER_ACTIONS[action][0]
        return f"已办理{label}，工本费 {reissue.fee} 元，新卡号 {new}（待制卡），请打印回执。"
    elif action == "cancel":
        card_life.card_cancel(actor=actor, card_id=card.pk, reason=post.get("reason", ""))
    else:
        raise ShebaoError(code="ACTION_UNKNOWN", message="未知的业务类型")
    return f"已办理{_COUNTER_ACTIONS[action][0]}。"


@staff_required
@require_http_methods(["GET", "POST"])
def counter(request: HttpRequest) -> HttpResponse:
    """The card number is kept in the session, not the URL (it leads to a person)."""
    actor = _actor(request)
    error: ShebaoError | None = None
    if request.method == "POST":
        if "lookup" in request.POST:
            number = request.POST.get("card_number", "").strip().upper()
            holder = normalize_id_number(request.POST.get("holder_id_number", ""))
            card = (
                card_by_number(actor=actor, card_number=number)
                if number
                else card_of_holder(actor=actor, id_number=holder)
                if holder
                else None
            )
            if card is None:
                messages.error(
                    request,
                    "未找到该卡号，或该卡不在您的服务范围内。"
                    if number or not holder
                    else "未找到该身份证号码持卡人的社保卡，或不在您的服务范围内。",
                )
                request.session.pop(COUNTER_SESSION_KEY, None)
            else:
                request.session[COUNTER_SESSION_KEY] = card.pk
                with transaction.atomic():
                    audit_record(
                        actor=actor,
                        action=AuditAction.VIEW_PERSON,
                        target_type="card",
                        target_id=card.pk,
                        person_id=card.person_id,
                        purpose=Purpose.CARD_SERVICE.value,
                        detail={
                            "masked": True,
                            "via": "counter",
                            "by": "card_number" if number else "id_number",
                        },
                    )
            return redirect("cards:counter")
        card_id = request.session.get(COUNTER_SESSION_KEY)
        card = cards_scoped(actor).filter(pk=card_id).first() if card_id else None
        if card is None:
            return redirect("cards:counter")
        try:
            messages.success(
                request, _counter_do(actor, card, request.POST.get("action", ""), request.POST)
            )
        except ShebaoError as exc:
            error = exc
        else:
            return redirect("cards:counter")
    card_id = request.session.get(COUNTER_SESSION_KEY)
    card = (
        cards_scoped(actor).select_related("person", "custodian", "bank").filter(pk=card_id).first()
        if card_id
        else None
    )
    context: dict[str, Any] = {"breadcrumbs": _crumbs(("卡片业务", "")), "error": error}
    if card is not None:
        allowed = set(allowed_events(CardStatus(card.status)))
        context.update(
            card=card,
            holder=_holder_row(card),
            history=[
                {
                    "h": h,
                    "event": CardEvent(h.event).label,
                    "to": CardStatus(h.to_status).label,
                    "channel": CHANNEL_LABELS.get(h.channel, h.channel) or "—",
                }
                for h in card_history(card=card)
            ],
            actions=[
                {"code": code, "label": label}
                for code, (label, event) in _COUNTER_ACTIONS.items()
                if event in allowed
            ],
            action_codes=[
                code for code, (_, event) in _COUNTER_ACTIONS.items() if event in allowed
            ],
            renewal_reasons=[(r.value, r.label) for r in RenewalReason],
            **reissue_counter_context(card),
        )
    return render(request, "cards/custody/counter.html", context, status=400 if error else 200)


urlpatterns = [
    path("custody/", custody_home, name="custody_home"),
    path("custody/dispatch/", custody_dispatch, name="custody_dispatch"),
    path("custody/handovers/<int:pk>/", handover_detail, name="handover_detail"),
    path("custody/handovers/<int:pk>/receive/", handover_receive, name="handover_receive"),
    path("custody/handovers/<int:pk>/cancel/", handover_cancel_view, name="handover_cancel"),
    path("custody/handovers/<int:pk>/print/", handover_print, name="handover_print"),
    path("custody/shortages/", shortages, name="shortages"),
    path("custody/pickup/", pickup, name="pickup"),
    path("custody/receipts/", receipts, name="receipts"),
    path("custody/receipts/send/", receipts_send, name="receipts_send"),
    path("custody/receipts/<int:pk>/", receipt_print, name="receipt_print"),
    path("custody/receipts/<int:pk>/seal/", receipt_seal_view, name="receipt_seal"),
    path(
        "custody/receipts/<int:pk>/signatures/<int:line_pk>/",
        receipt_signature,
        name="receipt_signature",
    ),
    path("custody/recall/", recall, name="recall"),
    path("custody/subsidy/", subsidy, name="subsidy"),
    path("custody/subsidy/export/", subsidy_export, name="subsidy_export"),
    path("counter/", counter, name="counter"),
    path("self-service/", self_service, name="self_service"),
]
