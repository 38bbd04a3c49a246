"""Reads of payments into the card, each scoped to the acting user:

- a paying office's clerk sees only the programmes (and their batches) of their own office;
- the auditor and the card centre read every programme of their region, changing nothing;
- a cooperating bank sees only the payment files addressed to it, and a branch only those
  addressed to the branch itself;
- anyone else sees nothing. Out-of-scope records are answered as not found, never as
  forbidden, so that their existence is not revealed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import AuditEvent, Organisation, User
from shebao.accounts.scoping import Scope
from shebao.errors import NotFound
from shebao.geo.models import Region
from shebao.payments.domain.amounts import format_yuan
from shebao.payments.domain.batch_lifecycle import FROZEN, BatchStatus
from shebao.payments.domain.reasons import Reason
from shebao.payments.domain.reconcile import DifferenceKind
from shebao.payments.models import (
    BankPaymentFile,
    BankPaymentLine,
    LineStatus,
    PaymentBatch,
    PaymentBatchHistory,
    PaymentFailure,
    PaymentProgramme,
    PaymentRecovery,
    PaymentRow,
    RecoveryStatus,
)
from shebao.payments.roles import OFFICE_ROLES, READ_ONLY_ROLES
from shebao.payments.selectors_bank import batch_reconciliation

__all__ = [
    "BankTotals",
    "BatchReconciliationView",
    "Difference",
    "PersonPayment",
    "ReasonText",
    "RecoveryTotals",
    "bank_file_visible_get",
    "bank_files_visible",
    "batch_audit_events",
    "batch_history",
    "batch_reconciliation_view",
    "batch_rows",
    "batch_visible_get",
    "batches_visible",
    "failures_visible",
    "paid_into_cards",
    "paid_into_cards_panel",
    "person_payments",
    "programmes_visible",
    "reason_texts",
    "recoveries_visible",
    "recovery_totals",
]

_BATCH_TARGET = "payment_batch"


def _sees_everything(actor: User) -> bool:
    return actor.is_superuser or actor.has_role(Role.SYSTEM_ADMIN)


def programmes_visible(actor: User) -> QuerySet[PaymentProgramme]:
    """The programmes `actor` may see (see the module docstring)."""
    programmes = PaymentProgramme.objects.select_related("paying_office")
    if _sees_everything(actor):
        return programmes
    if actor.has_role(*READ_ONLY_ROLES):
        return Scope.for_user(actor).filter(
            programmes, region_fields=("paying_office__region__code",)
        )
    if actor.has_role(*OFFICE_ROLES) and actor.organisation_id is not None:
        return programmes.filter(paying_office_id=actor.organisation_id)
    return programmes.none()


def batches_visible(actor: User, *, search: str = "", status: str = "") -> QuerySet[PaymentBatch]:
    """The batches of the programmes `actor` sees, newest first; `search` matches the batch
    number, the programme's name or the period, `status` one status."""
    batches = PaymentBatch.objects.filter(
        programme__in=programmes_visible(actor).values("pk")
    ).select_related("programme", "programme__paying_office", "prepared_by", "approved_by")
    search = search.strip()
    if search:
        batches = batches.filter(
            Q(code__icontains=search)
            | Q(programme__name__icontains=search)
            | Q(period__icontains=search)
        )
    if status in {s.value for s in BatchStatus}:
        batches = batches.filter(status=status)
    return batches.order_by("-prepared_at", "-pk")


def batch_visible_get(actor: User, code: str) -> PaymentBatch:
    batch = batches_visible(actor).filter(code=code).first()
    if batch is None:
        raise NotFound("未找到该发放批次", code="PAYMENT_BATCH_NOT_FOUND")
    return batch


def batch_rows(batch: PaymentBatch, *, problems_only: bool = False) -> QuerySet[PaymentRow]:
    """The batch's rows in file order; `problems_only`: those with a reason, not dropped."""
    rows = PaymentRow.objects.filter(batch=batch).select_related("bank_line")
    if problems_only:
        rows = rows.exclude(reasons="").filter(dropped=False)
    return rows.order_by("row_number")


@dataclass(frozen=True, slots=True)
class ReasonText:
    code: str
    label: str
    explanation: str


def reason_texts(codes: str) -> list[ReasonText]:
    """A row's `reasons` cell as Chinese labels with what to do (unknown codes as they are)."""
    out: list[ReasonText] = []
    for code in codes.split(";"):
        if not code:
            continue
        try:
            reason = Reason(code)
        except ValueError:
            out.append(ReasonText(code, code, ""))
            continue
        out.append(ReasonText(code, reason.label, reason.explanation))
    return out


def batch_history(batch: PaymentBatch) -> QuerySet[PaymentBatchHistory]:
    return (
        PaymentBatchHistory.objects.filter(batch=batch).select_related("actor").order_by("at", "pk")
    )


def batch_audit_events(batch: PaymentBatch, *, limit: int = 200) -> list[AuditEvent]:
    """The audit rows written about the batch (approval, every change, downloads …)."""
    return list(
        AuditEvent.objects.filter(target_type=_BATCH_TARGET, target_id=str(batch.pk)).order_by(
            "-at", "-pk"
        )[:limit]
    )


def bank_files_visible(actor: User) -> QuerySet[BankPaymentFile]:
    """Payment files: a bank's own (a branch only those addressed to it); the office's and
    the read-only roles' through the batches they see."""
    files = BankPaymentFile.objects.select_related("batch", "batch__programme", "bank", "branch")
    if _sees_everything(actor):
        return files.order_by("-created_at", "-pk")
    org = actor.organisation
    if org is not None and org.kind in (OrganisationKind.BANK, OrganisationKind.BANK_BRANCH):
        if not actor.has_role(Role.BANK_OPERATOR):
            return files.none()
        if org.kind == OrganisationKind.BANK:
            return files.filter(bank_id=org.pk).order_by("-created_at", "-pk")
        return files.filter(branch_id=org.pk).order_by("-created_at", "-pk")
    return files.filter(batch__in=batches_visible(actor).values("pk")).order_by(
        "-created_at", "-pk"
    )


def bank_file_visible_get(actor: User, code: str) -> BankPaymentFile:
    found = bank_files_visible(actor).filter(code=code).first()
    if found is None:
        raise NotFound("未找到该发放文件", code="PAYMENT_FILE_NOT_FOUND")
    return found


def failures_visible(actor: User, *, status: str = "") -> QuerySet[PaymentFailure]:
    failures = PaymentFailure.objects.filter(
        line__file__batch__in=batches_visible(actor).values("pk")
    ).select_related(
        "person",
        "bank",
        "line__file__batch__programme",
        "repaid_by_row__batch",
    )
    if status:
        failures = failures.filter(status=status)
    return failures.order_by("created_at", "pk")


def recoveries_visible(actor: User, *, status: str = "") -> QuerySet[PaymentRecovery]:
    """`status` one status, or "waiving": open with a waiver awaiting a second clerk."""
    found = PaymentRecovery.objects.filter(
        line__file__batch__in=batches_visible(actor).values("pk")
    ).select_related(
        "person",
        "line",
        "line__file__batch__programme",
        "waive_requested_by",
        "waived_by",
        "recorded_by",
    )
    if status == "waiving":
        found = found.filter(status=RecoveryStatus.OPEN, waive_requested_by__isnull=False)
    elif status:
        found = found.filter(status=status)
    return found.order_by("created_at", "pk")


@dataclass(frozen=True, slots=True)
class PersonPayment:
    programme: str
    period: str
    amount_fen: int
    status: str  # in Chinese
    batch_code: str

    @property
    def amount_yuan(self) -> str:
        return format_yuan(self.amount_fen)


_LINE_LABELS = dict(LineStatus.choices)


def person_payments(*, person_id: int, limit: int = 50) -> list[PersonPayment]:
    """The payments into the card made (or under way) for one person, newest period first:
    the payable rows of approved batches, with the bank's answer where it came."""
    rows = (
        PaymentRow.objects.filter(
            person_id=person_id, payable=True, batch__status__in=[s.value for s in FROZEN]
        )
        .select_related("batch", "batch__programme", "bank_line")
        .order_by("-batch__period_start", "-pk")[:limit]
    )
    out: list[PersonPayment] = []
    for row in rows:
        line: BankPaymentLine | None = getattr(row, "bank_line", None)
        if line is None:
            status = "已审批，待生成银行文件"
            amount = row.amount_fen or 0
        else:
            status = _LINE_LABELS.get(line.status, line.status)
            if line.status == LineStatus.FAILED and line.failure_text:
                status = f"{status}（{line.failure_text}）"
            amount = line.paid_fen if line.paid_fen is not None else line.amount_fen
        out.append(
            PersonPayment(
                programme=row.batch.programme.name,
                period=row.batch.period,
                amount_fen=amount,
                status=status,
                batch_code=row.batch.code,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class PaidFigure:
    programme: str
    region_code: str  # the county (6 digits) of the payee's residence
    month: str  # YYYY-MM of the period's first day
    count: int
    paid_fen: int


def paid_into_cards(
    *, region_prefix: str = "", since: date | None = None, until: date | None = None
) -> list[PaidFigure]:
    """Amounts the banks confirmed paid into cards, per programme, county and month (of the
    period's first day), for payees living under `region_prefix` (where they live, else
    where their household is registered). Exact integer fen."""
    # Where the payee lives; the household registration where no residence is recorded.
    lines = BankPaymentLine.objects.filter(status=LineStatus.PAID).annotate(
        payee_region=Coalesce("row__person__residence_region_id", "row__person__hukou_region_id")
    )
    if region_prefix:
        lines = lines.filter(payee_region__startswith=region_prefix)
    if since is not None:
        lines = lines.filter(row__batch__period_start__gte=since)
    if until is not None:
        lines = lines.filter(row__batch__period_start__lt=until)
    grouped = (
        lines.values("row__batch__programme__name", "payee_region", "row__batch__period_start")
        .annotate(n=Count("pk"), fen=Sum("paid_fen"))
        .order_by()
    )
    totals: dict[tuple[str, str, str], list[int]] = {}
    for item in grouped:
        region = (item["payee_region"] or "")[:6]
        start: date = item["row__batch__period_start"]
        key = (item["row__batch__programme__name"], region, f"{start:%Y-%m}")
        acc = totals.setdefault(key, [0, 0])
        acc[0] += item["n"]
        acc[1] += int(item["fen"] or 0)
    return [
        PaidFigure(programme=p, region_code=r, month=m, count=c, paid_fen=f)
        for (p, r, m), (c, f) in sorted(
            totals.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1])
        )
    ]


@dataclass(frozen=True, slots=True)
class BankTotals:
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


@dataclass(frozen=True, slots=True)
class Difference:
    bank: str
    kind: str  # the code
    label: str  # in Chinese
    reference: str
    sent_fen: int | None
    reported_fen: int | None


@dataclass(frozen=True, slots=True)
class BatchReconciliationView:
    totals: list[BankTotals]
    differences: list[Difference]


def batch_reconciliation_view(
    *, actor: User, batch: PaymentBatch, as_of: date | None = None
) -> BatchReconciliationView:
    """The batch's reconciliation to the fen (per bank: sent / paid / failed / pending and
    every difference) with the banks' names, for the pages and the API."""
    reconciliation = batch_reconciliation(actor=actor, batch_id=batch.pk, as_of=as_of)
    bank_ids = set(reconciliation.totals["bank_id"].to_list()) | set(
        reconciliation.differences["bank_id"].to_list()
    )
    names = dict(Organisation.objects.filter(pk__in=bank_ids).values_list("pk", "name"))
    totals = [
        BankTotals(
            bank=names.get(t["bank_id"], str(t["bank_id"])),
            sent_count=t["sent_count"],
            sent_fen=t["sent_fen"],
            paid_count=t["paid_count"],
            paid_fen=t["paid_fen"],
            failed_count=t["failed_count"],
            failed_fen=t["failed_fen"],
            pending_count=t["pending_count"],
            pending_fen=t["pending_fen"],
            overdue_count=t["overdue_count"],
        )
        for t in reconciliation.totals.iter_rows(named=True)
    ]
    differences = [
        Difference(
            bank=names.get(d["bank_id"], str(d["bank_id"])),
            kind=d["kind"],
            label=DifferenceKind(d["kind"]).label,
            reference=d["reference"],
            sent_fen=d["sent_fen"],
            reported_fen=d["reported_fen"],
        )
        for d in reconciliation.differences.iter_rows(named=True)
    ]
    return BatchReconciliationView(totals=totals, differences=differences)


@dataclass(frozen=True, slots=True)
class PaidPanelRow:
    programme: str
    region_code: str
    region_name: str
    month: str
    count: int
    paid_fen: int

    @property
    def paid_yuan(self) -> str:
        return format_yuan(self.paid_fen)


@dataclass(frozen=True, slots=True)
class PaidPanel:
    year: int
    month: int
    rows: list[PaidPanelRow]
    total_count: int
    total_fen: int

    @property
    def total_yuan(self) -> str:
        return format_yuan(self.total_fen)


def paid_into_cards_panel(*, region_prefix: str, year: int, month: int) -> PaidPanel:
    """The dashboard's panel: what the banks confirmed paid into cards from January to the
    month shown, per programme, county and month, for payees living in the region."""
    until = date(year + (month == 12), month % 12 + 1, 1)
    figures = paid_into_cards(region_prefix=region_prefix, since=date(year, 1, 1), until=until)
    names = dict(
        Region.objects.filter(code__in={f.region_code for f in figures}).values_list("code", "name")
    )
    rows = [
        PaidPanelRow(
            programme=f.programme,
            region_code=f.region_code,
            region_name=names.get(f.region_code, f.region_code or "—"),
            month=f.month,
            count=f.count,
            paid_fen=f.paid_fen,
        )
        for f in figures
    ]
    return PaidPanel(
        year=year,
        month=month,
        rows=rows,
        total_count=sum(r.count for r in rows),
        total_fen=sum(r.paid_fen for r in rows),
    )


@dataclass(frozen=True, slots=True)
class RecoveryTotals:
    count: int
    owed_fen: int
    recovered_fen: int
    waived_fen: int
    outstanding_fen: int
    awaiting_waiver: int


def recovery_totals(recoveries: QuerySet[PaymentRecovery]) -> RecoveryTotals:
    """Exact totals of a (scoped) recovery list: owed, recovered, waived, still outstanding."""
    figures = recoveries.order_by().aggregate(
        count=Count("pk"),
        owed=Sum("amount_fen"),
        recovered=Sum("recovered_fen"),
        waived_owed=Sum("amount_fen", filter=Q(status=RecoveryStatus.WAIVED)),
        waived_recovered=Sum("recovered_fen", filter=Q(status=RecoveryStatus.WAIVED)),
        open_owed=Sum("amount_fen", filter=Q(status=RecoveryStatus.OPEN)),
        open_recovered=Sum("recovered_fen", filter=Q(status=RecoveryStatus.OPEN)),
        awaiting=Count(
            "pk",
            filter=Q(status=RecoveryStatus.OPEN, waive_requested_by__isnull=False),
        ),
    )
    return RecoveryTotals(
        count=figures["count"] or 0,
        owed_fen=figures["owed"] or 0,
        recovered_fen=figures["recovered"] or 0,
        waived_fen=(figures["waived_owed"] or 0) - (figures["waived_recovered"] or 0),
        outstanding_fen=(figures["open_owed"] or 0) - (figures["open_recovered"] or 0),
        awaiting_waiver=figures["awaiting"] or 0,
    )
