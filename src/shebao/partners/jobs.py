"""The partners' background work: change notifications to partners' webhooks, sent at once
when a verified person changes (`DELIVER_CHANGES_NOW`, queued by `partners.receivers`) and
every five minutes (retries with backoff, see `services.changes`, and changes that came
without a signal), and old rate-limit counts dropped."""

from __future__ import annotations

from typing import Any, Final

from shebao.jobs.kinds import JobContext, job_kind
from shebao.jobs.schedules import Every, schedule

DELIVER_CHANGES: Final[str] = "partners.deliver_changes"
DELIVER_CHANGES_NOW: Final[str] = "partners.deliver_changes_now"


@job_kind(DELIVER_CHANGES, label="向合作机构推送人员变更通知")
def run_deliver_changes(ctx: JobContext) -> dict[str, Any]:
    from shebao.partners.services.changes import webhooks_deliver
    from shebao.partners.services.ratelimit import rate_windows_prune

    outcome = webhooks_deliver()
    pruned = rate_windows_prune()
    return {
        "delivered": outcome.delivered,
        "failed_partners": outcome.failed_partners,
        "rate_windows_pruned": pruned,
    }


@job_kind(DELIVER_CHANGES_NOW, label="即时推送人员变更通知")
def run_deliver_changes_now(ctx: JobContext) -> dict[str, Any]:
    from shebao.partners.services.changes import webhooks_deliver

    ids = [int(i) for i in ctx.parameters.get("partner_ids", [])]
    outcome = webhooks_deliver(partner_ids=ids)
    return {"delivered": outcome.delivered, "failed_partners": outcome.failed_partners}


schedule(DELIVER_CHANGES, every=Every(minutes=5), kind=DELIVER_CHANGES)
