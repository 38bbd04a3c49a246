"""Region and customer scoping: the one place that decides which records a user may see.

Every selector and API that returns or changes records passes its queryset through
`Scope.for_user(user).filter(...)`; the scoping test matrix exercises them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import TypeVar

from django.db import models

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import User

M = TypeVar("M", bound=models.Model)

# Roles that act across the whole region subtree of their organisation.
_UNRESTRICTED_ROLES = frozenset({Role.SYSTEM_ADMIN})


@dataclass(frozen=True)
class Scope:
    """What one user may see: a region subtree, narrowed to a bank's or employer's people."""

    user_id: int | None
    unrestricted: bool = False
    region_prefix: str | None = None
    bank_id: int | None = None
    employer_credit_code: str | None = None
    empty: bool = False

    @classmethod
    def for_user(cls, user: User | None) -> Scope:
        if user is None or not user.is_authenticated or not user.is_active:
            return cls(user_id=None, empty=True)
        if user.is_superuser or user.has_role(*_UNRESTRICTED_ROLES):
            return cls(user_id=user.pk, unrestricted=True)
        org = user.organisation
        if org is None or not org.is_active:
            return cls(user_id=user.pk, empty=True)
        prefix = org.region.prefix
        if org.kind in (OrganisationKind.BANK, OrganisationKind.BANK_BRANCH):
            bank = org.bank_root
            return cls(user_id=user.pk, region_prefix=prefix, bank_id=bank.pk if bank else -1)
        if org.kind in (
            OrganisationKind.EMPLOYER,
            OrganisationKind.PUBLIC_INSTITUTION,
            OrganisationKind.SCHOOL,
        ):
            return cls(
                user_id=user.pk,
                region_prefix=prefix,
                employer_credit_code=org.credit_code or "-",
            )
        return cls(user_id=user.pk, region_prefix=prefix)

    def contains_region(self, code: str | None) -> bool:
        if self.empty:
            return False
        if self.unrestricted:
            return True
        return bool(code) and code is not None and code.startswith(self.region_prefix or "\0")

    def filter(
        self,
        queryset: models.QuerySet[M],
        *,
        region_fields: tuple[str, ...],
        bank_field: str | None = None,
        employer_field: str | None = None,
    ) -> models.QuerySet[M]:
        """Narrow `queryset` to this scope.

        region_fields: paths to region codes (a record is in scope if any is in the subtree).
        bank_field: path to the bank organisation id, for records that belong to a bank's
            customers; a bank user sees nothing of a model that has no such path.
        employer_field: path to an employer's credit code, likewise for employer users.
        """
        if self.empty:
            return queryset.none()
        if self.unrestricted:
            return queryset
        conditions = [models.Q(**{f"{f}__startswith": self.region_prefix}) for f in region_fields]
        queryset = queryset.filter(reduce(or_, conditions))
        # Bank and employer narrowing goes through a pk subquery: a join would duplicate
        # rows (a person with two accounts), and DISTINCT would forbid SELECT ... FOR UPDATE.
        model = queryset.model
        if self.bank_id is not None:
            if bank_field is None:
                return queryset.none()
            queryset = queryset.filter(
                pk__in=model._default_manager.filter(**{bank_field: self.bank_id}).values("pk")
            )
        if self.employer_credit_code is not None:
            if employer_field is None:
                return queryset.none()
            queryset = queryset.filter(
                pk__in=model._default_manager.filter(
                    **{employer_field: self.employer_credit_code}
                ).values("pk")
            )
        return queryset
