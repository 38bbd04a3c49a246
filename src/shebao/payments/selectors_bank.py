"""Reads of the bank side of payments: the files a user may see, a batch's reconciliation to
the fen, the failure queue and the recovery list."""

# ruff: noqa: S608 - SQL is built from Django's quoted table names; values are bound.
from __future__ import annotations

from datetime import date
from typing import Final

import polars as pl
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import User
from shebao.errors import NotFound
from shebao.payments.domain.reconcile import (
    RESULTS_SCHEMA,
    SENT_SCHEMA,
    Reconciliation,
    reconcile,
)
from shebao.payments.frames import query_frame
from shebao.payments.models import (
    BankPaymentFile,
    BankPaymentLine,
    BankResultFile,
    BankResultRow,
    PaymentBatch,
    PaymentFailure,
    PaymentRecovery,
)

__all__ = [
    "RESULT_DEADLINE_WORKDAYS",
    "batch_reconciliation",
    "payment_failures_visible",
    "payment_files_visible",
    "payment_recoveries_visible",
]

# The banks answer a payment file within five working days of receiving it.
RESULT_DEADLINE_WORKDAYS: Final[int] = 5
_READ_ALL: Final = frozenset({Role.SYSTEM_ADMIN, Role.AUDITOR, Role.CARD_CENTRE_OPERATOR})


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def payment_files_visible(actor: User) -> QuerySet[BankPaymentFile]:
    """A bank its files, a branch only its own; a paying office the files of its own
    programmes; auditors, the card centre and administrators all."""
    files = BankPaymentFile.objects.select_related("bank", "branch", "batch__programme")
    org = actor.organisation
    if actor.is_superuser or actor.has_role(*_READ_ALL):
        return files
    if org is None or not org.is_active:
        return files.none()
    if org.kind == OrganisationKind.BANK:
        return files.filter(bank=org)
    if org.kind == OrganisationKind.BANK_BRANCH:
        return files.filter(branch=org)
    if actor.has_role(Role.PAYING_OFFICE_CLERK):
        return files.filter(batch__programme__paying_office=org)
    return files.none()


def payment_failures_visible(actor: User) -> QuerySet[PaymentFailure]:
    failures = PaymentFailure.objects.select_related("line__row__batch__programme", "bank")
    if actor.is_superuser or actor.has_role(*_READ_ALL):
        return failures
    org = actor.organisation
    if org is None or not actor.has_role(Role.PAYING_OFFICE_CLERK):
        return failures.none()
    return failures.filter(line__row__batch__programme__paying_office=org)


def payment_recoveries_visible(actor: User) -> QuerySet[PaymentRecovery]:
    recoveries = PaymentRecovery.objects.select_related("line__row__batch__programme")
    if actor.is_superuser or actor.has_role(*_READ_ALL):
        return recoveries
    org = actor.organisation
    if org is None or not actor.has_role(Role.PAYING_OFFICE_CLERK):
        return recoveries.none()
    return recoveries.filter(line__row__batch__programme__paying_office=org)


def batch_reconciliation(
    *,
    actor: User,
    batch_id: int,
    as_of: date | None = None,
    overdue_after_workdays: int = RESULT_DEADLINE_WORKDAYS,
) -> Reconciliation:
    """Per bank (the files of one bank added up), counts and exact amounts sent / paid /
    failed / pending, and every difference, computed set-wise from the lines sent and every
    results row received. Files not yet sent count from today."""
    as_of = as_of or timezone.localdate()
    if not payment_files_visible(actor).filter(batch_id=batch_id).exists():
        if not PaymentBatch.objects.filter(pk=batch_id).exists():
            raise NotFound("未找到该发放批次", code="PAYMENT_BATCH_NOT_FOUND")
        if not (actor.is_superuser or actor.has_role(*_READ_ALL, Role.PAYING_OFFICE_CLERK)):
            raise NotFound("未找到该发放批次", code="PAYMENT_BATCH_NOT_FOUND")
    visible = list(
        payment_files_visible(actor).filter(batch_id=batch_id).values_list("pk", flat=True)
    )
    if not visible:
        return reconcile(
            pl.DataFrame(schema=SENT_SCHEMA),
            pl.DataFrame(schema=RESULTS_SCHEMA),
            as_of=as_of,
            overdue_after_workdays=overdue_after_workdays,
        )
    marks = ", ".join(["%s"] * len(visible))
    file_t = _q(BankPaymentFile._meta.db_table)
    line_t = _q(BankPaymentLine._meta.db_table)
    result_file_t = _q(BankResultFile._meta.db_table)
    result_t = _q(BankResultRow._meta.db_table)
    # By COPY on PostgreSQL: two million rows as Python tuples cost more than the rest.
    sent = query_frame(
        f"SELECT f.batch_id, f.bank_id, l.reference, l.amount_fen, f.sent_on "
        f"FROM {line_t} AS l JOIN {file_t} AS f ON f.id = l.file_id WHERE f.id IN ({marks})",
        visible,
        SENT_SCHEMA,
    ).with_columns(pl.col("sent_on").fill_null(as_of))  # not yet sent: counts from today
    results = query_frame(
        f"SELECT r.id, f.batch_id, f.bank_id, r.reference, r.outcome, r.amount_fen "
        f"FROM {result_t} AS r JOIN {result_file_t} AS rf ON rf.id = r.result_file_id "
        f"JOIN {file_t} AS f ON f.id = rf.payment_file_id WHERE f.id IN ({marks})",
        visible,
        RESULTS_SCHEMA,
    )
    return reconcile(sent, results, as_of=as_of, overdue_after_workdays=overdue_after_workdays)
