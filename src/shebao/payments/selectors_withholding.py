"""Reads of contributions from the card account (代扣): the withholding authorisations a
paying office works with (those of the people of its region: the hukou or residence region
in the office's subtree, as for every person read; other regions' are not found), and the
deduction files a user may see (a bank its own; a branch none, as deduction files go to the
head bank; the office side and auditors all)."""

from __future__ import annotations

from typing import Final

from django.db.models import Q, QuerySet

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.accounts.scoping import Scope
from shebao.errors import NotFound
from shebao.payments.models import DeductionFile, WithholdingAuthorisation
from shebao.registry.models import Person
from shebao.registry.selectors import PERSON_REGION_FIELDS

__all__ = [
    "deduction_file_visible_get",
    "deduction_files_visible",
    "withholding_authorisations",
    "withholding_banks",
    "withholding_person_in_scope",
]

_OFFICE_SIDE: Final = frozenset(
    {Role.SYSTEM_ADMIN, Role.PAYING_OFFICE_CLERK, Role.AUDITOR, Role.CARD_CENTRE_OPERATOR}
)


_AUTHORISATION_REGION_FIELDS: Final = tuple(f"person__{f}" for f in PERSON_REGION_FIELDS)


def withholding_authorisations(
    actor: User, *, search: str = "", live_only: bool = False
) -> QuerySet[WithholdingAuthorisation]:
    """The authorisations of the people in `actor`'s region, newest first; `search` matches
    a whole ID number, the start of a name or a scheme."""
    found = Scope.for_user(actor).filter(
        WithholdingAuthorisation.objects.select_related("person", "scheme", "bank"),
        region_fields=_AUTHORISATION_REGION_FIELDS,
    )
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


def withholding_person_in_scope(actor: User, person_id: int) -> bool:
    """Whether `actor` may sign an authorisation for the person (their region's people)."""
    people = Person.objects.filter(pk=person_id)
    return Scope.for_user(actor).filter(people, region_fields=PERSON_REGION_FIELDS).exists()


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
