"""Purging spent QR codes and business tokens.

A holder's page issues a code a minute, so the code table grows by the minute; a code is of
no use once expired (the offline check refuses it as EXPIRED from its own signed times,
before the database is asked) and a business token is of no use once expired. Both are
kept a day past expiry, so that a terminal presenting a stale business token still hears
"expired" rather than "invalid", then deleted in batches (short transactions, no long lock
on a table terminals are redeeming against). Redeems stay in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from django.db import transaction
from django.utils import timezone

from shebao.ecard.models import BusinessToken, QrCode

__all__ = ["PURGE_AFTER", "PurgeOutcome", "qr_codes_purge"]

PURGE_AFTER: Final[timedelta] = timedelta(days=1)
BATCH: Final[int] = 5000


@dataclass(frozen=True)
class PurgeOutcome:
    qr_codes: int
    business_tokens: int

    def as_dict(self) -> dict[str, int]:
        return {"qr_codes": self.qr_codes, "business_tokens": self.business_tokens}


def _delete_in_batches(model: type[QrCode] | type[BusinessToken], **expired: object) -> int:
    deleted = 0
    while True:
        ids = list(model.objects.filter(**expired).order_by().values_list("pk", flat=True)[:BATCH])
        if not ids:
            return deleted
        with transaction.atomic():
            deleted += model.objects.filter(pk__in=ids).delete()[1].get(model._meta.label, 0)


def qr_codes_purge(*, now: datetime | None = None, keep: timedelta = PURGE_AFTER) -> PurgeOutcome:
    """Delete business tokens and QR codes that expired more than `keep` ago. A code whose
    business token is still kept stays with it (the token refers to its code)."""
    cutoff = (now or timezone.now()) - keep
    tokens = _delete_in_batches(BusinessToken, expires_at__lt=cutoff)
    codes = _delete_in_batches(QrCode, expires_at__lt=cutoff, business_token__isnull=True)
    return PurgeOutcome(qr_codes=codes, business_tokens=tokens)
