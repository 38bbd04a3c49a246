"""Bank accounts for the cards (开户): account-opening requests per cooperating bank and
branch, the encrypted files both ways, the 15-working-day deadline on the official calendar,
the clean-up queue of failures (开户失败数据清理) and the monitoring figures.

Working days: `chinese_calendar` knows the official holidays and adjusted working days
(调休) of 2004–2026; for a date it does not know, Monday to Friday count and a warning is
logged, never a crash.
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

import chinese_calendar
import polars as pl
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.accounts.scoping import Scope
from shebao.cards.models import (
    AccountItemStatus,
    AccountOpeningItem,
    AccountOpeningRequest,
    AccountRequestStatus,
    Application,
    ProductionBatch,
)
from shebao.cards.services.bulk import insert_frame
from shebao.cards.services.exchange import (
    KIND_BANK_REQUEST,
    KIND_BANK_RESULT,
    open_exchange_file,
    seal_exchange_file,
    sm3_hex,
)
from shebao.errors import NotFound, PermissionDenied, ShebaoError, ValidationFailed
from shebao.identity.spreadsheet import safe_csv_writer
from shebao.registry.models import BankAccount

__all__ = [
    "ACCOUNT_DEADLINE_WORKDAYS",
    "BANK_REQUEST_HEADER",
    "BANK_RESULT_HEADER",
    "AccountStats",
    "BankImportResult",
    "account_failures_resubmit",
    "account_opening_stats",
    "account_request_export",
    "account_requests_prepare",
    "account_results_import",
    "add_workdays",
    "card_account_require_opened",
    "completion_rate",
    "is_workday",
]

log = logging.getLogger(__name__)

ACCOUNT_DEADLINE_WORKDAYS: Final[int] = 15
BANK_REQUEST_HEADER: Final[tuple[str, ...]] = (
    "序号",
    "社会保障号码",
    "姓名",
    "性别",
    "联系电话",
    "社保卡号",
    "服务银行",
    "开户网点",
)
BANK_RESULT_HEADER: Final[tuple[str, ...]] = ("社会保障号码", "开户结果", "银行账号", "失败原因")
_OPENED_WORDS: Final[frozenset[str]] = frozenset({"成功", "开户成功", "1", "opened", "ok"})
_FAILED_WORDS: Final[frozenset[str]] = frozenset({"失败", "开户失败", "0", "failed"})
_CHUNK: Final[int] = 5_000


# ---- working days ---------------------------------------------------------------------------


def is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        log.warning("chinese_calendar has no holiday table for %s; counting Mon-Fri", day.year)
        return day.weekday() < 5


def add_workdays(start: date, workdays: int) -> date:
    """The `workdays`-th working day after `start` (the day of receipt does not count)."""
    day = start
    counted = 0
    while counted < workdays:
        day += timedelta(days=1)
        if is_workday(day):
            counted += 1
    return day


def completion_rate(received: int, opened: int) -> Decimal | None:
    """Opened as a percentage of received, to one decimal (598万 / 511万 → 85.5)."""
    if received <= 0:
        return None
    return (Decimal(opened) * 100 / Decimal(received)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


# ---- requests -------------------------------------------------------------------------------


def _is_admin(actor: User) -> bool:
    return bool(actor.is_superuser or actor.has_role(Role.SYSTEM_ADMIN))


def _branch_for(
    bank: Organisation, region_code: str, branches: Sequence[Organisation]
) -> Organisation | None:
    """The bank's branch serving the applicant's area: the deepest branch whose region
    contains it."""
    best: Organisation | None = None
    for branch in branches:
        if branch.parent_id != bank.pk:
            continue
        prefix = branch.region.prefix
        if region_code.startswith(prefix) and (
            best is None or len(prefix) > len(best.region.prefix)
        ):
            best = branch
    return best


def account_requests_prepare(
    *, actor: User | None, production_batch: ProductionBatch
) -> list[AccountOpeningRequest]:
    """One request per bank and branch for the batch's applicants (status 待发送)."""
    rows = list(
        Application.objects.filter(production_batch=production_batch, bank__isnull=False)
        .annotate(
            # The branch serves where the applicant lives: a city-wide unit's staff are
            # spread over the districts, and each district's branch opens their accounts.
            serving_region=Coalesce(
                "person__residence_region_id", "person__hukou_region_id", "region_id"
            )
        )
        .values_list("pk", "person_id", "card_id", "bank_id", "serving_region")
        .order_by("pk")
    )
    if not rows:
        return []
    banks = Organisation.objects.in_bulk({r[3] for r in rows})
    branches = list(
        Organisation.objects.filter(
            kind=OrganisationKind.BANK_BRANCH, parent_id__in=list(banks), is_active=True
        ).select_related("region")
    )
    branches_by_id = {b.pk: b for b in branches}
    groups: dict[tuple[int, int | None], list[tuple[int, int, int | None]]] = defaultdict(list)
    for app_id, person_id, card_id, bank_id, region_code in rows:
        branch = _branch_for(banks[bank_id], region_code, branches)
        groups[(bank_id, branch.pk if branch else None)].append((app_id, person_id, card_id))
    made: list[AccountOpeningRequest] = []
    for (bank_id, branch_id), items in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)
    ):
        request = AccountOpeningRequest.objects.create(
            code=f"KH{timezone.localdate():%Y%m%d}{uuid.uuid4().hex[:8].upper()}",
            bank_id=bank_id,
            branch_id=branch_id,
            # A branch's request is of the branch's area (where it sees it), an undivided
            # one of the batch's unit or town.
            region_id=branches_by_id[branch_id].region_id
            if branch_id is not None
            else production_batch.region_id,
            production_batch=production_batch,
            record_count=len(items),
            created_by=actor if actor is not None and actor.pk is not None else None,
        )
        insert_frame(
            AccountOpeningItem,
            pl.DataFrame(
                {
                    "application_id": [a for a, _, _ in items],
                    "person_id": [p for _, p, _ in items],
                    "card_id": [c for _, _, c in items],
                },
                schema={"application_id": pl.Int64, "person_id": pl.Int64, "card_id": pl.Int64},
            ).with_columns(
                pl.lit(request.pk, dtype=pl.Int64).alias("request_id"),
                pl.lit(AccountItemStatus.PENDING.value).alias("status"),
            ),
        )
        made.append(request)
    return made


def account_requests_visible(actor: User) -> Scope:
    return Scope.for_user(actor)


def _requests_for(actor: User):  # type: ignore[no-untyped-def]
    return Scope.for_user(actor).filter(
        AccountOpeningRequest.objects.select_related("bank", "branch", "region"),
        region_fields=("region__code",),
        bank_field="bank_id",
    )


def _csv_bytes(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    # Bank and vendor clerks open these files in a spreadsheet too: no live formulas.
    writer = safe_csv_writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _bank_scope_ok(actor: User, request: AccountOpeningRequest) -> bool:
    org = actor.organisation
    if org is None:
        return False
    if org.kind in (OrganisationKind.BANK, OrganisationKind.BANK_BRANCH):
        root = org.bank_root
        if root is None or root.pk != request.bank_id:
            return False
        # A branch: its own requests and the head bank's undivided ones, never another
        # branch's (as `account_requests_visible` lists them).
        return org.kind == OrganisationKind.BANK or request.branch_id in (None, org.pk)
    return org.kind == OrganisationKind.CARD_CENTRE or _is_admin(actor)


def account_request_export(
    *, actor: User, request_id: int, today: date | None = None
) -> tuple[AccountOpeningRequest, bytes]:
    """The request's records as an encrypted file. The first time it leaves the card centre
    (downloaded by the bank or sent by the card centre) it counts as received: the sent date
    and the due date (15 working days) are set."""
    today = today or timezone.localdate()
    with transaction.atomic():
        request = _requests_for(actor).select_for_update(of=("self",)).filter(pk=request_id).first()
        if request is None or not _bank_scope_ok(actor, request):
            raise NotFound("开户请求不存在")
        rows = list(
            AccountOpeningItem.objects.filter(request=request)
            .order_by("pk")
            .values_list(
                "person__id_number",
                "person__name",
                "person__gender",
                "application__phone",
                "card__card_number",
            )
        )
        content = _csv_bytes(
            BANK_REQUEST_HEADER,
            [
                (
                    i,
                    r[0],
                    r[1],
                    "男" if r[2] == "M" else "女",
                    r[3] or "",
                    r[4] or "",
                    request.bank.name,
                    request.branch.name if request.branch else "",
                )
                for i, r in enumerate(rows, start=1)
            ],
        )
        sealed = seal_exchange_file(
            content, kind=KIND_BANK_REQUEST, reference=request.code, partner=request.bank.code
        )
        if request.status == AccountRequestStatus.PREPARED:
            request.status = AccountRequestStatus.SENT
            request.sent_on = today
            request.due_on = add_workdays(today, ACCOUNT_DEADLINE_WORKDAYS)
        request.export_digest = sm3_hex(content)
        request.save(update_fields=["status", "sent_on", "due_on", "export_digest"])
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT,
            target_type="account_opening_request",
            target_id=request.pk,
            detail={"records": len(rows), "sm3": request.export_digest},
        )
    return request, sealed


def bank_results_file(
    request: AccountOpeningRequest, results: Sequence[tuple[str, bool, str, str]]
) -> bytes:
    """The bank's side (tests, demo, the bank's tooling): (ID number, opened?, account
    number, failure reason) as an encrypted result file."""
    content = _csv_bytes(
        BANK_RESULT_HEADER,
        [(i, "成功" if ok else "失败", account, reason) for i, ok, account, reason in results],
    )
    return seal_exchange_file(
        content, kind=KIND_BANK_RESULT, reference=request.code, partner=request.bank.code
    )


@dataclass(frozen=True, slots=True)
class BankImportResult:
    request: AccountOpeningRequest
    opened: int
    failed: int
    unchanged: int
    already_imported: bool = False


class BankRowsInvalid(ShebaoError):
    def __init__(self, details: list[dict[str, object]]) -> None:
        super().__init__(
            code="RESULT_ROWS_INVALID",
            message=f"开户回盘文件有 {len(details)} 行数据有误，未导入任何结果",
            status=422,
            details=details,
        )


def account_results_import(
    *, actor: User, data: bytes, today: date | None = None
) -> BankImportResult:
    """The bank's results (opened with account number / failed with reason): verified and
    decrypted; every row checked first; the accounts are created in the registry in bulk;
    importing the same file again changes nothing."""
    today = today or timezone.localdate()
    opened_file = open_exchange_file(data, kind=KIND_BANK_RESULT)
    with transaction.atomic():
        request = (
            AccountOpeningRequest.objects.select_for_update(of=("self",))
            .select_related("bank")
            .filter(code=opened_file.reference)
            .first()
        )
        if request is None or not _bank_scope_ok(actor, request):
            raise NotFound(f"开户请求 {opened_file.reference} 不存在或不属于本行")
        if request.status == AccountRequestStatus.PREPARED:
            raise ValidationFailed("该开户请求尚未发送银行，不能导入结果", code="REQUEST_NOT_SENT")
        if opened_file.digest in request.result_digests.split():
            return BankImportResult(request, 0, 0, 0, already_imported=True)
        try:  # signed by the bank, but its software may still send GBK: refused, not a 500
            text = opened_file.content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(
                "开户回盘文件无法读取：应为 UTF-8 编码的 CSV", code="RESULT_FILE_UNREADABLE"
            ) from exc
        reader = csv.DictReader(io.StringIO(text))
        missing = [h for h in BANK_RESULT_HEADER if h not in (reader.fieldnames or [])]
        if missing:
            raise ValidationFailed(
                f"开户回盘文件缺少列：{'、'.join(missing)}", code="MISSING_COLUMNS"
            )
        items = {
            id_number: (pk, status)
            for pk, status, id_number in AccountOpeningItem.objects.filter(request=request)
            .exclude(status=AccountItemStatus.RESUBMITTED)
            .values_list("pk", "status", "person__id_number")
        }
        errors: list[dict[str, object]] = []
        to_open: dict[int, str] = {}
        to_fail: dict[int, str] = {}
        unchanged = 0
        for n, raw in enumerate(reader, start=1):
            row = {k: (v or "").strip() for k, v in raw.items() if k}
            found = items.get(row["社会保障号码"].upper())
            outcome = row["开户结果"].lower()
            if found is None:
                errors.append({"row": n, "field": "社会保障号码", "reason": "不在本开户请求中"})
                continue
            pk, status = found
            if status != AccountItemStatus.PENDING:
                unchanged += 1
                continue
            if outcome in _OPENED_WORDS:
                account = row["银行账号"].replace(" ", "")
                if not account.isdigit() or not 8 <= len(account) <= 32:
                    errors.append({"row": n, "field": "银行账号", "reason": "应为8至32位数字"})
                else:
                    to_open[pk] = account
            elif outcome in _FAILED_WORDS:
                if not row["失败原因"]:
                    errors.append({"row": n, "field": "失败原因", "reason": "开户失败须注明原因"})
                else:
                    to_fail[pk] = row["失败原因"][:255]
            else:
                errors.append({"row": n, "field": "开户结果", "reason": "应为“成功”或“失败”"})
        if len(set(to_open.values())) != len(to_open):
            errors.append({"row": 0, "field": "银行账号", "reason": "同一账号出现多次"})
        if to_open:
            taken = set(
                BankAccount.objects.filter(
                    bank_id=request.bank_id, account_number__in=list(to_open.values())
                ).values_list("account_number", flat=True)
            )
            if taken:
                errors.append(
                    {"row": 0, "field": "银行账号", "reason": f"{len(taken)} 个账号已被使用"}
                )
        if errors:
            raise BankRowsInvalid(errors[:200])
        persons = dict(
            AccountOpeningItem.objects.filter(pk__in=list(to_open)).values_list("pk", "person_id")
        )
        accounts = BankAccount.objects.bulk_create(
            [
                BankAccount(
                    person_id=persons[pk],
                    bank_id=request.bank_id,
                    branch_id=request.branch_id,
                    account_number=number,
                    opened_on=today,
                )
                for pk, number in to_open.items()
            ],
            batch_size=2_000,
        )
        account_by_number = {a.account_number: a.pk for a in accounts}
        if accounts and any(a.pk is None for a in accounts):
            account_by_number = dict(
                BankAccount.objects.filter(
                    bank_id=request.bank_id, account_number__in=list(to_open.values())
                ).values_list("account_number", "pk")
            )
        AccountOpeningItem.objects.bulk_update(
            [
                AccountOpeningItem(
                    pk=pk,
                    status=AccountItemStatus.OPENED,
                    account_id=account_by_number[number],
                    resolved_on=today,
                )
                for pk, number in to_open.items()
            ],
            ["status", "account", "resolved_on"],
            batch_size=1_000,
        )
        AccountOpeningItem.objects.bulk_update(
            [
                AccountOpeningItem(
                    pk=pk, status=AccountItemStatus.FAILED, failure_reason=reason, resolved_on=today
                )
                for pk, reason in to_fail.items()
            ],
            ["status", "failure_reason", "resolved_on"],
            batch_size=1_000,
        )
        _refresh_counts(request, today)
        request.result_digests = (request.result_digests + " " + opened_file.digest).strip()
        request.save(update_fields=["result_digests"])
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            target_type="account_opening_request",
            target_id=request.pk,
            detail={"opened": len(to_open), "failed": len(to_fail), "unchanged": unchanged},
        )
    return BankImportResult(request, len(to_open), len(to_fail), unchanged)


def _refresh_counts(request: AccountOpeningRequest, today: date) -> None:
    counts = dict(
        AccountOpeningItem.objects.filter(request=request)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    request.opened_count = counts.get(AccountItemStatus.OPENED, 0)
    request.failed_count = counts.get(AccountItemStatus.FAILED, 0) + counts.get(
        AccountItemStatus.RESUBMITTED, 0
    )
    if (
        counts.get(AccountItemStatus.PENDING, 0) == 0
        and request.status == AccountRequestStatus.SENT
    ):
        request.status = AccountRequestStatus.COMPLETED
        request.completed_on = today
    request.save(update_fields=["opened_count", "failed_count", "status", "completed_on"])


def account_failures_resubmit(*, actor: User, item_ids: Sequence[int]) -> AccountOpeningRequest:
    """Clean-up (开户失败数据清理): failed items, once their data is corrected in the registry,
    go to the bank again in a new request of the same bank and branch; the old items are
    marked 已清理重新提交."""
    org = actor.organisation
    if not _is_admin(actor) and (org is None or org.kind != OrganisationKind.CARD_CENTRE):
        raise PermissionDenied("只有社保卡管理中心可以重新提交开户数据", "NOT_CARD_CENTRE")
    with transaction.atomic():
        items = list(
            Scope.for_user(actor)
            .filter(
                AccountOpeningItem.objects.select_for_update(of=("self",)),
                region_fields=("request__region__code",),
            )
            .filter(pk__in=list(item_ids), status=AccountItemStatus.FAILED)
            .select_related("request")
        )
        if not items:
            raise ValidationFailed("没有可重新提交的开户失败记录", code="NOTHING_TO_RESUBMIT")
        keys = {(i.request.bank_id, i.request.branch_id) for i in items}
        if len(keys) != 1:
            raise ValidationFailed("一次只能重新提交同一银行网点的记录", code="MIXED_BANKS")
        first = items[0].request
        request = AccountOpeningRequest.objects.create(
            code=f"KH{timezone.localdate():%Y%m%d}{uuid.uuid4().hex[:8].upper()}",
            bank_id=first.bank_id,
            branch_id=first.branch_id,
            region_id=first.region_id,
            production_batch_id=first.production_batch_id,
            record_count=len(items),
            created_by=actor,
        )
        for item in items:
            new = AccountOpeningItem.objects.create(
                request=request,
                application_id=item.application_id,
                person_id=item.person_id,
                card_id=item.card_id,
            )
            AccountOpeningItem.objects.filter(pk=item.pk).update(
                status=AccountItemStatus.RESUBMITTED, resubmitted_as=new
            )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            target_type="account_opening_request",
            target_id=request.pk,
            detail={"resubmitted": len(items)},
        )
    return request


# ---- monitoring -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountStats:
    bank: str
    branch: str
    received: int
    opened: int
    failed: int
    pending: int
    overdue: int
    due_within_3_workdays: int

    @property
    def rate(self) -> Decimal | None:
        return completion_rate(self.received, self.opened)


def account_opening_stats(*, actor: User, today: date | None = None) -> list[AccountStats]:
    """Per bank and branch: records received (sent to the bank; a re-submitted record counts
    once), accounts opened, failures waiting for clean-up, pending, overdue (pending past the
    15-working-day deadline) and due within three working days."""
    today = today or timezone.localdate()
    soon = add_workdays(today, 3)
    items = Scope.for_user(actor).filter(
        AccountOpeningItem.objects.filter(request__status__in=["sent", "completed"]).exclude(
            status=AccountItemStatus.RESUBMITTED
        ),
        region_fields=("request__region__code",),
        bank_field="request__bank_id",
    )
    rows = (
        items.values("request__bank__name", "request__branch__name")
        .annotate(
            received=Count("pk"),
            opened=Count("pk", filter=Q(status=AccountItemStatus.OPENED)),
            failed=Count("pk", filter=Q(status=AccountItemStatus.FAILED)),
            pending=Count("pk", filter=Q(status=AccountItemStatus.PENDING)),
            overdue=Count(
                "pk", filter=Q(status=AccountItemStatus.PENDING, request__due_on__lt=today)
            ),
            due_soon=Count(
                "pk",
                filter=Q(
                    status=AccountItemStatus.PENDING,
                    request__due_on__gte=today,
                    request__due_on__lte=soon,
                ),
            ),
        )
        .order_by("request__bank__name", "request__branch__name")
    )
    return [
        AccountStats(
            bank=r["request__bank__name"],
            branch=r["request__branch__name"] or "（总行）",
            received=r["received"],
            opened=r["opened"],
            failed=r["failed"],
            pending=r["pending"],
            overdue=r["overdue"],
            due_within_3_workdays=r["due_soon"],
        )
        for r in rows
    ]


# ---- activation needs the account -----------------------------------------------------------


class AccountNotOpened(ShebaoError):
    def __init__(self, message: str) -> None:
        super().__init__(code="ACCOUNT_NOT_OPENED", message=message, status=409)


def card_account_require_opened(*, actor: User | None, card_id: int) -> None:
    """A card sent for account opening (its production prepared an account-opening item for
    it, or for the card it replaces: the account stays with the new card) is activated only
    once the bank reports the account opened. A card never sent (no bank chosen, issued
    before this system, or opened on the spot at a branch) needs nothing here. A refusal
    is audited (DENIED) and raised as AccountNotOpened with the reason in Chinese."""
    from shebao.cards.models import Card

    chain: list[int] = []
    next_id: int | None = card_id
    while next_id is not None and next_id not in chain:
        chain.append(next_id)
        next_id = Card.objects.filter(pk=next_id).values_list("replaces_id", flat=True).first()
    latest = (
        AccountOpeningItem.objects.filter(card_id__in=chain)
        .exclude(status=AccountItemStatus.RESUBMITTED)
        .select_related("request__bank")
        .order_by("-pk")
        .first()
    )
    if latest is None or latest.status == AccountItemStatus.OPENED:
        return
    card = Card.objects.filter(pk=card_id).values_list("card_number", "person_id").first()
    number, person_id = card if card is not None else ("", None)
    bank = latest.request.bank.name
    if latest.status == AccountItemStatus.FAILED:
        message = (
            f"卡号 {number} 在{bank}开户失败（{latest.failure_reason or '未注明原因'}），"
            "不能激活；请先在开户失败清理中更正后重新提交开户，待银行回盘开户成功后再激活"
        )
    else:
        message = f"卡号 {number} 在{bank}的银行账户尚未开立（等待银行开户结果），暂不能激活"
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.DENIED,
            target_type="card",
            target_id=card_id,
            person_id=person_id,
            detail={"event": "activate", "code": "ACCOUNT_NOT_OPENED", "account": latest.status},
        )
    raise AccountNotOpened(message)
