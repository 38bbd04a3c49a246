"""The holder base kept right against the population register (实时比对校验): partners that
verified a person are told when the registry records the person's death, a change of name
or of ID number, by a pull feed with a cursor and by a signed webhook.

Both read the registry's own history (`registry.PersonChange`, never edited, ids increasing):
the cursor is a PersonChange id, so nothing is copied and nothing can be missed between the
change and the notice. The webhook keeps a cursor per partner. It goes out at once: when a
person a partner verified is saved, `webhooks_enqueue_for` queues a delivery job for the
partners concerned after the change commits (`partners.receivers`); the periodic job
(`partners.deliver_changes`, every five minutes) retries failed deliveries with backoff and
catches changes made without a signal (bulk loads).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from django.db import transaction
from django.utils import timezone

from shebao.partners.choices import PartnerStatus
from shebao.partners.domain.scopes import PartnerService, PersonField, fields_allowed
from shebao.partners.domain.webhook import SIGNATURE_HEADER, backoff_seconds, signature_header
from shebao.partners.models import Partner, VerifiedPerson
from shebao.partners.services.identity import (
    TerminalCaller,
    current_card,
    person_fields,
    person_ref,
    require_service,
)
from shebao.registry.choices import LifeStatus
from shebao.registry.models import PersonChange

__all__ = [
    "ChangeNotice",
    "changes_after",
    "changes_feed",
    "webhooks_deliver",
    "webhooks_enqueue_for",
]

logger = logging.getLogger(__name__)

WATCHED_FIELDS: Final[tuple[str, ...]] = ("life_status", "name", "id_number")
MAX_PAGE: Final[int] = 500
WEBHOOK_BATCH: Final[int] = 100
WEBHOOK_TIMEOUT_SECONDS: Final[float] = 5.0


@dataclass(frozen=True)
class ChangeNotice:
    cursor: int
    at: str
    person_ref: str
    change: str  # deceased | alive | moved_out | name_changed | id_number_changed
    fields: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "at": self.at,
            "person_ref": self.person_ref,
            "change": self.change,
            "fields": self.fields,
        }


def _change_kind(row: PersonChange) -> str:
    if row.field == "life_status":
        status = (row.new_value or "").split(" ", 1)[0]
        return status if status in LifeStatus.values else "life_status_changed"
    return f"{row.field}_changed"


def changes_after(
    *, partner_id: int, granted: tuple[str, ...] | list[str], after: int, limit: int
) -> list[ChangeNotice]:
    """The changes after cursor `after` to persons the partner has verified, oldest first,
    each with the person's current data cut to the partner's granted fields."""
    limit = max(1, min(limit, MAX_PAGE))
    verified = VerifiedPerson.objects.filter(partner_id=partner_id).values("person_id")
    rows = list(
        PersonChange.objects.filter(pk__gt=after, field__in=WATCHED_FIELDS, person_id__in=verified)
        .select_related("person")
        .order_by("pk")[:limit]
    )
    notices = []
    for row in rows:
        person = row.person
        data = person_fields(person, current_card(person.pk))
        if row.field == "id_number":
            # The old number is what the partner holds; the new one only as it may see it.
            data = {k: v for k, v in data.items() if k != PersonField.CARD_NUMBER}
        notices.append(
            ChangeNotice(
                cursor=row.pk,
                at=row.at.isoformat(),
                person_ref=person_ref(partner_id=partner_id, person_id=person.pk),
                change=_change_kind(row),
                fields=fields_allowed(data, granted),
            )
        )
    return notices


def changes_feed(*, caller: TerminalCaller, after: int, limit: int = 100) -> dict[str, Any]:
    """GET …/changes?after=<cursor>: the next page and the cursor to ask from next time."""
    require_service(caller, PartnerService.CHANGE_FEED)
    notices = changes_after(
        partner_id=caller.partner_id, granted=caller.fields, after=max(0, after), limit=limit
    )
    return {
        "changes": [n.as_dict() for n in notices],
        "next_cursor": notices[-1].cursor if notices else max(0, after),
    }


def _post(url: str, body: bytes, header: str) -> None:
    request = urllib.request.Request(  # noqa: S310 (the card centre registers http(s) URLs only)
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: header},
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(url, response.status, "not 2xx", response.headers, None)


@dataclass
class DeliveryOutcome:
    delivered: int = 0
    failed_partners: int = 0


def _deliver_partner(partner: Partner, outcome: DeliveryOutcome) -> None:
    while True:
        notices = changes_after(
            partner_id=partner.pk,
            granted=partner.granted_fields,
            after=partner.webhook_cursor,
            limit=WEBHOOK_BATCH,
        )
        if not notices:
            return
        body = json.dumps(
            {"changes": [n.as_dict() for n in notices], "next_cursor": notices[-1].cursor},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        now = timezone.now()
        header = signature_header(
            secret=partner.webhook_secret, body=body, timestamp=int(now.timestamp())
        )
        try:
            _post(partner.webhook_url, body, header)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            partner.webhook_failures += 1
            partner.webhook_next_attempt_at = now + timedelta(
                seconds=backoff_seconds(partner.webhook_failures)
            )
            partner.webhook_last_error = f"{type(exc).__name__}: {exc}"[:255]
            Partner.objects.filter(pk=partner.pk).update(
                webhook_failures=partner.webhook_failures,
                webhook_next_attempt_at=partner.webhook_next_attempt_at,
                webhook_last_error=partner.webhook_last_error,
            )
            outcome.failed_partners += 1
            logger.warning("webhook of partner %s failed: %s", partner.pk, type(exc).__name__)
            return
        partner.webhook_cursor = notices[-1].cursor
        Partner.objects.filter(pk=partner.pk).update(
            webhook_cursor=partner.webhook_cursor,
            webhook_failures=0,
            webhook_next_attempt_at=None,
            webhook_last_error="",
        )
        partner.webhook_failures = 0
        outcome.delivered += len(notices)


def _webhook_partners() -> Any:
    return Partner.objects.filter(status=PartnerStatus.APPROVED).exclude(webhook_url="")


def webhooks_deliver(*, now: Any = None, partner_ids: list[int] | None = None) -> DeliveryOutcome:
    """Send every approved partner with a webhook (or those of `partner_ids`) the changes
    after its cursor, unless it is waiting out a backoff. A partner's cursor moves only
    after its server said 2xx; the partner's row stays locked while it is sent, so the
    immediate and the periodic job never send one change twice."""
    now = now or timezone.now()
    outcome = DeliveryOutcome()
    candidates = _webhook_partners().exclude(webhook_next_attempt_at__gt=now)
    if partner_ids is not None:
        candidates = candidates.filter(pk__in=partner_ids)
    partners = list(candidates)
    for partner in partners:
        if PartnerService.CHANGE_FEED not in partner.granted_services:
            continue
        with transaction.atomic():
            locked = Partner.objects.select_for_update().filter(pk=partner.pk).first()
            if locked is None:
                continue
            _deliver_partner(locked, outcome)
    return outcome


def webhooks_enqueue_for(person_ids: Collection[int]) -> int | None:
    """After persons were saved (and committed): queue one delivery job for the partners
    with a webhook that verified any of them, unless a queued one already covers them.
    Returns the job's id, or None when no partner is concerned."""
    from shebao.jobs.choices import JobStatus
    from shebao.jobs.models import Job
    from shebao.jobs.services import job_enqueue
    from shebao.partners.jobs import DELIVER_CHANGES_NOW

    if not person_ids:
        return None
    ids = sorted(person_ids)
    concerned: set[int] = set()
    for start in range(0, len(ids), 1000):  # a bulk change saves many persons at once
        concerned.update(
            VerifiedPerson.objects.filter(
                person_id__in=ids[start : start + 1000],
                partner_id__in=_webhook_partners().values("pk"),
            ).values_list("partner_id", flat=True)
        )
    partner_ids = sorted(concerned)
    if not partner_ids:
        return None
    for job_id, parameters in Job.objects.filter(
        kind=DELIVER_CHANGES_NOW, status=JobStatus.QUEUED
    ).values_list("pk", "parameters"):
        # A job not started yet reads the changes when it runs: it covers these as well.
        if set(partner_ids) <= set(parameters.get("partner_ids", [])):
            return int(job_id)
    return job_enqueue(kind=DELIVER_CHANGES_NOW, parameters={"partner_ids": partner_ids}).pk
