"""Which registry person a citizen account speaks for.

The link is the e-card app's holder account (`ecard.HolderAccount`, written by its holder
sign-in `holder_login_verify`); sso sits above ecard in the layers and only reads it.
"""

from __future__ import annotations

from shebao.accounts.choices import Role
from shebao.accounts.models import User
from shebao.ecard.models import HolderAccount
from shebao.registry.models import Person


def holder_person_id(user: User) -> int | None:
    """The person behind a citizen account, or None for staff and unlinked accounts."""
    if not user.is_authenticated or not user.has_role(Role.CITIZEN):
        return None
    person_id: int | None = (
        HolderAccount.objects.filter(user_id=user.pk).values_list("person_id", flat=True).first()
    )
    return person_id


def holder_person(user: User) -> Person | None:
    person_id = holder_person_id(user)
    return None if person_id is None else Person.objects.filter(pk=person_id).first()
