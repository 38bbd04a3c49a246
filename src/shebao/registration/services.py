"""Work on findings and household surveys. Each write is atomic, scoped to the actor's
region, audited in the same transaction, and moves a finding only along
`choices.FINDING_TRANSITIONS`. Resolving a finding refreshes the person's registration
status; a correction is applied to the registry through `registry.services`.

Comparison runs are in `runs`; bulk loading in `bulk`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction
from shebao.accounts.models import User
from shebao.accounts.scoping import Scope
from shebao.comparison.domain import Category
from shebao.errors import NotFound, PermissionDenied, ShebaoError, ValidationFailed
from shebao.identity.phone import validate_mobile
from shebao.intake.formats.kinds import SourceKind
from shebao.registration.bulk import registration_refresh
from shebao.registration.choices import (
    FINDING_TRANSITIONS,
    SCHEME_WANTED_CHOICES,
    UNINSURED_CATEGORIES,
    UNRESOLVED_STATUSES,
    Employment,
    FindingStatus,
    ReasonUninsured,
    VisitOutcome,
)
from shebao.registration.models import ConfirmedMatch, Finding, SurveyRecord
from shebao.registration.roles import FINDING_WORK_ROLES
from shebao.registration.runs import run_sources
from shebao.registration.selectors import findings_scoped, latest_run
from shebao.registry.choices import LifeStatus
from shebao.registry.models import Person
from shebao.registry.selectors import person_scoped
from shebao.registry.services import enrollment_create, person_record_status, person_update

__all__ = [
    "FINDING_WORK_ROLES",
    "FindingCorrection",
    "SurveyInput",
    "finding_assign",
    "finding_resolve",
    "survey_record",
]


class FindingTransitionError(ShebaoError):
    def __init__(self, finding: Finding, to: str) -> None:
        super().__init__(
            code="FINDING_BAD_TRANSITION",
            message=(
                f"该问题已是“{FindingStatus(finding.status).label}”，"
                f"不能再改为“{FindingStatus(to).label}”"
            ),
            status=409,
        )


def _require_worker(actor: User) -> None:
    if not (actor.is_superuser or actor.has_role(*FINDING_WORK_ROLES)):
        raise PermissionDenied("您的角色无权处理比对问题", code="FINDINGS_FORBIDDEN")


def _locked(actor: User, finding_id: int) -> Finding:
    finding = findings_scoped(actor).select_for_update(of=("self",)).filter(pk=finding_id).first()
    if finding is None:
        # One answer for a finding outside the scope and one that does not exist: a
        # different one would tell a clerk which IDs exist elsewhere (ADR 0014).
        if actor.is_superuser or Scope.for_user(actor).unrestricted:
            raise NotFound("未找到该问题", code="FINDING_NOT_FOUND")
        raise PermissionDenied("未找到该问题，或该问题不在您的管辖范围内", code="OUT_OF_SCOPE")
    return finding


def _check(finding: Finding, to: str) -> None:
    if to not in FINDING_TRANSITIONS[finding.status]:
        raise FindingTransitionError(finding, to)


def _audit(actor: User, finding: Finding, old: str, **detail: Any) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target_type="finding",
        target_id=finding.pk,
        person_id=finding.person_id,
        detail={"category": finding.category, "from": old, "to": finding.status, **detail},
    )


@transaction.atomic
def finding_assign(*, actor: User, finding_id: int, assignee: User) -> Finding:
    """Give a finding to a clerk or surveyor whose region covers it."""
    _require_worker(actor)
    finding = _locked(actor, finding_id)
    _check(finding, FindingStatus.ASSIGNED)
    if not assignee.is_active or not (
        assignee.is_superuser or assignee.has_role(*FINDING_WORK_ROLES)
    ):
        raise ValidationFailed("只能分派给经办人员或入户调查员", code="ASSIGNEE_INVALID")
    if finding.region_id is None or not Scope.for_user(assignee).contains_region(finding.region_id):
        raise ValidationFailed("经办人的管辖范围不包含该问题所在地区", code="ASSIGNEE_OUT_OF_SCOPE")
    old = finding.status
    finding.status = FindingStatus.ASSIGNED
    finding.assignee = assignee
    finding.updated_at = timezone.now()
    finding.save(update_fields=["status", "assignee", "updated_at"])
    _audit(actor, finding, old, assignee=assignee.pk)
    return finding


@dataclass(frozen=True)
class BulkAssignment:
    assigned: list[int]
    refused: list[tuple[int, str]]  # (finding id, Chinese reason)


def findings_assign(*, actor: User, finding_ids: list[int], assignee: User) -> BulkAssignment:
    """Give several findings to one clerk: each through `finding_assign` (its own checks and
    audit row) in its own savepoint, so that one finding that cannot be given (resolved
    meanwhile, out of the assignee's region) does not hold up the others; says which."""
    _require_worker(actor)
    assigned: list[int] = []
    refused: list[tuple[int, str]] = []
    for finding_id in finding_ids:
        try:
            with transaction.atomic():
                finding_assign(actor=actor, finding_id=finding_id, assignee=assignee)
        except ShebaoError as error:
            refused.append((finding_id, error.message))
        else:
            assigned.append(finding_id)
    return BulkAssignment(assigned, refused)


@dataclass(frozen=True)
class FindingCorrection:
    """What to change in the registry when a finding is resolved as corrected."""

    name: str = ""
    phone: str = ""
    death_date: date | None = None
    scheme_code: str = ""  # a missing enrollment to record
    insurance_region_code: str = ""
    start_date: date | None = None

    @property
    def empty(self) -> bool:
        return not (self.name or self.phone or self.death_date or self.scheme_code)


def _apply(actor: User, finding: Finding, correction: FindingCorrection) -> list[str]:
    person = finding.person
    if person is None:
        raise ValidationFailed(
            "该问题没有对应到人员库中的人员，不能在此更正；请排除或确认并说明",
            code="FINDING_NO_PERSON",
        )
    reason = f"比对问题#{finding.pk}（{finding.get_category_display()}）更正"
    applied: list[str] = []
    changes = {}
    if correction.name:
        changes["name"] = correction.name
    if correction.phone:
        changes["phone"] = correction.phone
    if changes:
        person_update(
            actor=actor, person_id=person.pk, changes=changes, reason=reason, source="registration"
        )
        applied.extend(sorted(changes))
    if correction.death_date is not None:
        person_record_status(
            actor=actor,
            person_id=person.pk,
            status=LifeStatus.DECEASED,
            on=correction.death_date,
            reason=reason,
            source="registration",
        )
        applied.append("life_status")
    if correction.scheme_code:
        enrollment_create(
            actor=actor,
            person=person,
            scheme_code=correction.scheme_code,
            insurance_region_code=correction.insurance_region_code or person.hukou_region_id[:6],
            start_date=correction.start_date or timezone.localdate(),
            source="registration",
        )
        applied.append(f"enrollment:{correction.scheme_code}")
    return applied


@transaction.atomic
def finding_resolve(
    *,
    actor: User,
    finding_id: int,
    outcome: str,
    note: str = "",
    correction: FindingCorrection | None = None,
) -> Finding:
    """Resolve a finding: corrected (the correction applied to the registry), confirmed (the
    finding is true and stays so, e.g. a person who will not insure), or dismissed (not a
    problem; a note is required)."""
    _require_worker(actor)
    if outcome not in (FindingStatus.CORRECTED, FindingStatus.CONFIRMED, FindingStatus.DISMISSED):
        raise ValidationFailed("处理结果无效", code="OUTCOME_INVALID")
    note = note.strip()
    if outcome == FindingStatus.DISMISSED and len(note) < 2:
        raise ValidationFailed("排除问题须填写说明", code="NOTE_REQUIRED")
    finding = _locked(actor, finding_id)
    _check(finding, outcome)
    applied: list[str] = []
    if outcome == FindingStatus.CORRECTED:
        if correction is None or correction.empty:
            if not note:
                raise ValidationFailed(
                    "更正须填写更正内容或说明已在业务系统中更正", code="CORRECTION_REQUIRED"
                )
        elif finding.category == Category.PROBABLE_MATCH:
            raise ValidationFailed(
                "疑似同一人问题不在此更正人员库：是同一人请选择“已确认”，不是请选择“已排除”",
                code="MATCH_NOT_CORRECTABLE",
            )
        else:
            applied = _apply(actor, finding, correction)
    old = finding.status
    now = timezone.now()
    finding.status = outcome
    finding.note = note[:2000]
    finding.resolved_by = actor
    finding.resolved_at = now
    finding.updated_at = now
    finding.save(update_fields=["status", "note", "resolved_by", "resolved_at", "updated_at"])
    if outcome == FindingStatus.CONFIRMED and finding.category == Category.PROBABLE_MATCH:
        link = _confirm_match(actor, finding)
        if link is not None:
            applied.append(f"confirmed_match:{link.pk}")
    _audit(actor, finding, old, applied=applied)
    if finding.person_id is not None:
        _refresh_person(finding.person_id)
    return finding


def _confirm_match(actor: User, finding: Finding) -> ConfirmedMatch | None:
    """Record that the finding's row is the matched person, so that the row counts for that
    person from the next comparison run on (`links`). Rows of the population base are not
    linked: the population base is corrected at its source (公安)."""
    if not finding.matched_id_number or finding.row is None:
        raise ValidationFailed("该问题没有疑似对应的号码，不能确认匹配", code="NO_MATCH_TO_CONFIRM")
    batch = run_sources(finding.run).get(finding.source)
    if batch is None:
        raise ValidationFailed(
            f"找不到来源文件“{finding.source}”的导入批次，不能确认匹配", code="MATCH_NO_BATCH"
        )
    if batch.kind == SourceKind.POPULATION:
        return None
    link, _ = ConfirmedMatch.objects.update_or_create(
        batch=batch,
        row=finding.row,
        defaults={
            "finding": finding,
            "kind": batch.kind,
            "source": finding.source,
            "id_number": finding.id_number,
            "name": finding.name,
            "matched_id_number": finding.matched_id_number,
            "person": Person.objects.filter(id_number=finding.matched_id_number).first(),
            "confirmed_by": actor,
            "confirmed_at": timezone.now(),
        },
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target_type="confirmed_match",
        target_id=link.pk,
        person_id=link.person_id,
        detail={"finding": finding.pk, "batch": batch.pk, "row": finding.row},
    )
    return link


def _refresh_person(person_id: int) -> None:
    run = latest_run()
    as_of = run.as_of if run is not None else timezone.localdate()
    registration_refresh(run=run, as_of=as_of, person_ids=[person_id])


@dataclass(frozen=True)
class SurveyInput:
    employment: str
    outcome: str = VisitOutcome.INTERVIEWED
    reason_uninsured: str = ""
    scheme_wanted: str = ""
    phone: str = ""
    voluntary_schemes: tuple[str, ...] = ()
    note: str = ""


_SCHEME_CODES = frozenset(code for code, _ in SCHEME_WANTED_CHOICES)


def _survey_clean(data: SurveyInput) -> tuple[SurveyInput, list[dict[str, str]]]:
    errors: list[dict[str, str]] = []
    if data.outcome not in VisitOutcome.values:
        errors.append({"field": "outcome", "reason": "请选择走访结果"})
    interviewed = data.outcome == VisitOutcome.INTERVIEWED
    if data.employment not in Employment.values and (interviewed or data.employment):
        errors.append({"field": "employment", "reason": "已入户登记的，请选择就业情况"})
    if data.reason_uninsured and data.reason_uninsured not in ReasonUninsured.values:
        errors.append({"field": "reason_uninsured", "reason": "未参保原因无效"})
    if data.scheme_wanted and data.scheme_wanted not in _SCHEME_CODES:
        errors.append({"field": "scheme_wanted", "reason": "拟参加险种无效"})
    if any(code not in _SCHEME_CODES for code in data.voluntary_schemes):
        errors.append({"field": "voluntary_schemes", "reason": "自愿参加险种无效"})
    phone = ""
    if data.phone.strip():
        check = validate_mobile(data.phone)
        if not check.ok:
            errors.append({"field": "phone", "reason": "手机号码有误"})
        else:
            phone = check.normalized
    cleaned = SurveyInput(
        employment=data.employment,
        outcome=data.outcome,
        reason_uninsured=data.reason_uninsured,
        scheme_wanted=data.scheme_wanted,
        phone=phone,
        voluntary_schemes=tuple(sorted(set(data.voluntary_schemes))),
        note=data.note.strip()[:255],
    )
    return cleaned, errors


@transaction.atomic
def survey_record(*, actor: User, person_id: int, data: SurveyInput) -> SurveyRecord:
    """Record a household survey's result for one person and act on the person's unresolved
    uninsured findings of the latest run: insured elsewhere → dismissed; otherwise
    confirmed, with the reason recorded. A new mobile number updates the registry."""
    _require_worker(actor)
    person = person_scoped(actor).select_related("household").filter(pk=person_id).first()
    if person is None:
        if Person.objects.filter(pk=person_id).exists():
            raise PermissionDenied("该人员不在您的管辖范围内", code="OUT_OF_SCOPE")
        raise NotFound("未找到该人员", code="PERSON_NOT_FOUND")
    cleaned, errors = _survey_clean(data)
    if errors:
        raise ValidationFailed("调查结果填写有误", code="SURVEY_INVALID", details=errors)
    run = latest_run()
    record = SurveyRecord.objects.create(
        person=person,
        household=person.household,
        region_id=person.residence_region_id or person.hukou_region_id,
        run=run,
        outcome=cleaned.outcome,
        employment=cleaned.employment,
        scheme_wanted=cleaned.scheme_wanted,
        reason_uninsured=cleaned.reason_uninsured,
        phone=cleaned.phone,
        voluntary_schemes=list(cleaned.voluntary_schemes),
        note=cleaned.note,
        surveyed_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target_type="survey_record",
        target_id=record.pk,
        person_id=person.pk,
        purpose="survey",
        detail={"outcome": cleaned.outcome},
    )
    if cleaned.phone and cleaned.phone != person.phone:
        person_update(
            actor=actor,
            person_id=person.pk,
            changes={"phone": cleaned.phone},
            reason=f"入户调查#{record.pk}",
            source="survey",
        )
    # Only an interview settles the uninsured findings; an unanswered visit leaves them open
    # for the next, and a person gone (moved, dead, unknown) is for a clerk to resolve.
    if run is not None and cleaned.outcome == VisitOutcome.INTERVIEWED:
        reason_label = (
            ReasonUninsured(cleaned.reason_uninsured).label if cleaned.reason_uninsured else ""
        )
        elsewhere = cleaned.reason_uninsured == ReasonUninsured.INSURED_ELSEWHERE
        outcome = FindingStatus.DISMISSED if elsewhere else FindingStatus.CONFIRMED
        note = f"入户调查#{record.pk}：" + (reason_label or "已核实未参保")
        if cleaned.scheme_wanted:
            note += f"；拟参加 {cleaned.scheme_wanted}"
        open_uninsured = Finding.objects.filter(
            run=run,
            person=person,
            category__in=UNINSURED_CATEGORIES,
            status__in=UNRESOLVED_STATUSES,
        ).values_list("pk", flat=True)
        for finding_id in list(open_uninsured):
            finding_resolve(actor=actor, finding_id=finding_id, outcome=outcome, note=note)
    return record
