"""Instant issuance at a bank branch (即时制卡, seed 003): the applicant is checked on the spot
like any other application; if eligible, a card is numbered from the region's series, made
and handed over at once, and the account the branch opened is recorded."""

from __future__ import annotations

import uuid

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, OrganisationKind
from shebao.accounts.models import Organisation, User
from shebao.cards.domain.codes import card_id_code
from shebao.cards.domain.lifecycle import CardEvent, CardStatus
from shebao.cards.models import Application, ApplicationChannel, ApplicationStatus, Card
from shebao.cards.models.applications import PhotoSource
from shebao.cards.services.applications import (
    CounterInput,
    ServiceArea,
    _check_one,
    applicant_identity_check,
    bank_key,
)
from shebao.cards.services.card_life import card_apply_event
from shebao.cards.services.numbering import (
    CARD_VALID_YEARS,
    SPEC_VERSION,
    add_years,
    card_centre_for,
    card_numbers_allocate,
    issuing_region_of,
    unique_part,
)
from shebao.errors import PermissionDenied, ValidationFailed
from shebao.registry.models import BankAccount

__all__ = ["application_instant_issue"]


def _card_centre_for(region_code: str) -> Organisation:
    centre = card_centre_for(region_code)
    if centre is None:
        raise ValidationFailed("本地区没有社保卡管理中心，不能即时制卡", code="NO_CARD_CENTRE")
    return centre


def application_instant_issue(
    *, actor: User, data: CounterInput, account_number: str
) -> Application:
    """Check and, if eligible, issue a card on the spot at the actor's bank branch. An
    ineligible applicant gets the application recorded with its reasons and no card."""
    branch = actor.organisation
    if branch is None or branch.kind not in (OrganisationKind.BANK_BRANCH, OrganisationKind.BANK):
        raise PermissionDenied("只有合作银行网点可以即时制卡", "NOT_A_BANK_BRANCH")
    bank = branch.bank_root
    if bank is None:
        raise PermissionDenied("网点未关联合作银行", "NOT_A_BANK_BRANCH")
    account_number = account_number.replace(" ", "")
    if not account_number.isdigit() or not 8 <= len(account_number) <= 32:
        raise ValidationFailed(
            "银行账号应为8至32位数字",
            code="INVALID_ACCOUNT_NUMBER",
            details=[{"field": "account_number", "reason": "应为8至32位数字"}],
        )
    if not data.photo and not data.use_police_photo:
        raise ValidationFailed(
            "请上传申领人照片，或明确选择使用公安部门的身份证照片",
            code="PHOTO_CHOICE_REQUIRED",
            details=[{"field": "photo", "reason": "必填"}],
        )
    # A branch serves the applicants of the region its scope covers: it activates, unlocks
    # and replaces the card it issues there (ADR 0003).
    applicant_identity_check(
        data=data,
        area=ServiceArea(branch.region, "本网点", "户籍地或居住地所在区域的合作银行网点"),
    )
    with transaction.atomic():
        facts, photo, source = _check_one(
            region_code=branch.region_id, row=1, data=data, bank_name=bank_key(bank.name)
        )
        result = facts.frame.row(0, named=True)
        eligible = bool(result["eligible"])
        app = Application.objects.create(
            channel=ApplicationChannel.INSTANT,
            row=1,
            person_id=result["person_id"],
            id_number=data.id_number.strip()[:32],
            name=data.name.strip()[:64],
            bank_name=bank.name,
            bank=bank,
            phone=data.phone.strip()[:32],
            photo_source=source,
            region_id=branch.region_id,
            submitter=branch,
            status=ApplicationStatus.ISSUED if eligible else ApplicationStatus.INELIGIBLE,
            reasons=result["reasons"][:255],
            messages=result["messages"],
            created_by=actor,
            checked_at=timezone.now(),
        )
        if photo and source == PhotoSource.UPLOAD:
            app.photo.save(f"{uuid.uuid4().hex}.jpg", ContentFile(photo), save=True)
        if not eligible:
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                target_type="card_application",
                target_id=app.pk,
                person_id=app.person_id,
                detail={"channel": app.channel, "status": app.status, "reasons": app.reasons},
            )
            return app
        person_id: int = result["person_id"]
        if BankAccount.objects.filter(bank=bank, account_number=account_number).exists():
            raise ValidationFailed("该银行账号已被使用", code="ACCOUNT_NUMBER_TAKEN")
        centre = _card_centre_for(branch.region_id)
        issuing = issuing_region_of(centre)
        series, number, unique = card_numbers_allocate(region=issuing, count=1)
        today = timezone.localdate()
        card = Card.objects.create(
            card_number=series.card_number_for(number),
            card_id_code=card_id_code(issuing.code[:6], unique_part(unique)),
            person_id=person_id,
            status=CardStatus.PENDING_PRODUCTION.value,
            issuing_region=issuing,
            spec_version=SPEC_VERSION,
            issued_on=today,
            expires_on=add_years(today, CARD_VALID_YEARS),
            bank=bank,
            custodian=branch,
        )
        for event in (CardEvent.PRODUCTION_SUCCEEDED, CardEvent.ARRIVE_FOR_PICKUP, CardEvent.ISSUE):
            card_apply_event(card_id=card.pk, event=event, actor=actor, channel="instant")
        Card.objects.filter(pk=card.pk).update(custodian=None)
        BankAccount.objects.create(
            person_id=person_id,
            bank=bank,
            branch=branch if branch.kind == OrganisationKind.BANK_BRANCH else None,
            account_number=account_number,
            opened_on=today,
        )
        Application.objects.filter(pk=app.pk).update(card=card)
        app.card = card
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            target_type="card_application",
            target_id=app.pk,
            person_id=app.person_id,
            detail={"channel": app.channel, "status": app.status, "card": card.card_number},
        )
    return app
