"""Demo e-cards: `demo_seed()` (from `shebao.demo.services.demo_build`, after the card step)
issues e-cards to some holders of active cards with a phone on record, set-based, and keeps
one such holder without an e-card for the journey that applies for one. The chosen card
numbers are written to ``<data dir>/ecard/demo_holders.json``:

    {"apply": "<card number of a holder without an e-card>",
     "with_ecard": ["<card number>", ...]}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import Card
from shebao.ecard.domain.lifecycle import ECardStatus
from shebao.ecard.models import ECard
from shebao.ecard.services.keys import keys_signing
from shebao.registry.choices import LifeStatus

__all__ = ["DEMO_ECARDS", "demo_holders_path", "demo_seed"]

DEMO_ECARDS: Final[int] = 200


def demo_holders_path() -> Path:
    return Path(settings.DATA_DIR) / "ecard" / "demo_holders.json"


def demo_seed(*, count: int = DEMO_ECARDS) -> dict[str, object]:
    keys_signing()  # the first signing key, made now rather than at the first code
    candidates = list(
        Card.objects.filter(status=CardStatus.ACTIVE.value, ecard__isnull=True)
        .exclude(person__phone="")
        .exclude(person__life_status=LifeStatus.DECEASED)
        .exclude(person__ecard__isnull=False)
        .order_by("card_number")
        .values_list("pk", "person_id", "card_number")[: count + 1]
    )
    chosen: dict[str, object] = {"apply": "", "with_ecard": []}
    if not candidates:
        return chosen
    keep_for_journey, to_issue = candidates[0], candidates[1:]
    now = timezone.now()
    with transaction.atomic():
        ECard.objects.bulk_create(
            [
                ECard(
                    person_id=person_id,
                    card_id=card_id,
                    status=ECardStatus.ACTIVE.value,
                    issued_at=now,
                    issued_channel="demo",
                    status_changed_at=now,
                    status_reason="issued",
                )
                for card_id, person_id, _ in to_issue
            ],
            batch_size=500,
            ignore_conflicts=True,
        )
        audit_record(
            actor=None,
            username="demo",
            action=AuditAction.ISSUE_ECARD,
            target_type="ecard",
            detail={"channel": "demo", "count": len(to_issue)},
        )
    chosen = {"apply": keep_for_journey[2], "with_ecard": [n for _, _, n in to_issue]}
    path = demo_holders_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(chosen, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return chosen
