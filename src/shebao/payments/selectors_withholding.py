"""Reads of contributions from the card account (代扣): the withholding authorisations a
paying office works with, and the deduction files a user may see (a bank its own; a branch
none, as deduction files go to the head bank; the office side and auditors all)."""

from __future__ import annotations

from typing import Final

from django.db.models import Q, QuerySet

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.errors import NotFound
from shebao.payments.models import DeductionFile, WithholdingAuthorisation

__all__ = [
    "deduction_file_visible_get",
    "deduction_files_visible",
    "withholding_authorisations",
    "withholding_banks",
]

_OFFICE_SIDE: Final = frozenset(
    {Role.SYSTEM_ADMIN, Role.PAYING_OFFICE_CLERK, Role.AUDITOR, Role.CARD_CENTRE_OPERATOR}
)


def withholding_authorisations(
    *, search: str = "", live_only: bool = False
) -> QuerySet[WithholdingAuthorisation]:
    """Newest first; `search` matches a whole ID number, the start of a name or a scheme."""
    found = WithholdingAuthorisation.objects.select_related("person", "scheme", "bank")
    search = search.strip()
    if search:
        found = found.filter(
            Q(person__id_number=search.upper())
            | Q(person__name__startswith=search)
            | Q(scheme__code=search)
        )
    if live_only:
        found = found.filter(revoked_at__isnull=True)
    return found.order_by("-created_at", "-pk")


def withholding_banks() -> QuerySet[Organisation]:
    """The cooperating head banks a deduction can be addressed to."""
    return Organisation.objects.filter(kind=OrganisationKind.BANK, is_active=True).order_by("name")


def deduction_files_visible(actor: User) -> QuerySet[DeductionFile]:
    files = DeductionFile.objects.select_related("bank", "scheme").order_by("-created_at", "-pk")
    if actor.is_superuser or actor.has_role(*_OFFICE_SIDE):
        return files
    org = actor.organisation
    if org is None or not org.is_active:
        return files.none()
    if org.kind == OrganisationKind.BANK:
        return files.filter(bank=org)
    # A branch has no deduction files of its own: the file goes to the head bank.
    return files.none()


def deduction_file_visible_get(actor: User, code: str) -> DeductionFile:
    found = deduction_files_visible(actor).filter(code=code).first()
    if found is None:
        raise NotFound("代扣文件不存在或不属于本行", code="DEDUCTION_FILE_NOT_FOUND")
    return found
