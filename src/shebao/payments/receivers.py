"""The payments app listens to one registry signal: a person saved as deceased. Money paid
for a period that began after the recorded death goes on the recovery list (追回) at once, in
the same transaction. The registry sits below payments and must not import it; deaths loaded
in bulk send no signal and are caught by the nightly sweep (`payments.recoveries_sweep`)."""

from __future__ import annotations

from typing import Any

from shebao.registry.choices import LifeStatus
from shebao.registry.models import Person


def person_saved(sender: type[Person], instance: Person, **kwargs: Any) -> None:
    if instance.life_status != LifeStatus.DECEASED or kwargs.get("raw"):
        return
    from shebao.payments.services.bank import payment_recoveries_sweep

    payment_recoveries_sweep(person_ids=[instance.pk])
