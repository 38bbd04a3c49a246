"""补领 / 换领 at the counter: the fee list the counter page shows before the clerk acts, and
the printable receipt (补换领回执) of a reissue — old card, new card, reason and 工本费.

The business itself is `cards.services.card_life.card_reissue`, reached from the counter page
(`cards.views.custody.counter`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction
from shebao.accounts.decorators import staff_required
from shebao.accounts.models import User
from shebao.cards.domain.lifecycle import CardStatus, FeeKind, RenewalReason
from shebao.cards.models import Card, CardReissue
from shebao.cards.selectors.custody import cards_scoped, reissue_fees
from shebao.errors import PermissionDenied
from shebao.identity.masking import mask_id_number, mask_name
from shebao.pages import breadcrumbs as _crumbs
from shebao.pages import error_page as _error_page


def _actor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("请先登录", code="UNAUTHENTICATED")
    return user


def reissue_kind_label(reissue: CardReissue) -> str:
    if reissue.kind == FeeKind.REPLACEMENT.value:
        return "补领"
    reason = RenewalReason.parse(reissue.reason)
    return "换领" + (f"（{reason.label}）" if reason else "")


def reissue_counter_context(card: Card) -> dict[str, Any]:
    """What the counter page adds for 补领/换领: the fee list (shown before acting) and, for a
    card already replaced, its reissue with the link to the receipt."""
    reissue = CardReissue.objects.select_related("new_card").filter(old_card=card).first()
    return {
        "reissue_fees": reissue_fees(),
        "reissue": reissue,
        "reissue_label": reissue_kind_label(reissue) if reissue else "",
    }


@staff_required
@require_GET
def reissue_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    """补换领回执 for the holder: printed at the counter after the business (masked)."""
    actor = _actor(request)
    reissue = (
        CardReissue.objects.select_related(
            "old_card", "new_card", "old_card__person", "old_card__bank", "actor__organisation"
        )
        .filter(pk=pk, old_card__in=cards_scoped(actor))
        .first()
    )
    if reissue is None:
        return _error_page(request, PermissionDenied("没有该补换领记录，或您无权查看"))
    person = reissue.old_card.person
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT,
            target_type="card_reissue",
            target_id=reissue.pk,
            person_id=person.pk,
            detail={"masked": True, "fee": str(reissue.fee)},
        )
    new_card = reissue.new_card
    return render(
        request,
        "cards/custody/reissue_receipt.html",
        {
            "breadcrumbs": _crumbs(("卡片业务", reverse("cards:counter")), ("补换领回执", "")),
            "reissue": reissue,
            "label": reissue_kind_label(reissue),
            "name": mask_name(person.name),
            "id_number": mask_id_number(person.id_number),
            "new_status": CardStatus(new_card.status).label if new_card else "",
            # The organisation that did the business, whoever prints the receipt again.
            "organisation": reissue.actor.organisation if reissue.actor else None,
        },
    )


urlpatterns: list[URLPattern] = [
    path("counter/reissues/<int:pk>/receipt/", reissue_receipt, name="reissue_receipt"),
]
