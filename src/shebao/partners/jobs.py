"""The partners' background work, every five minutes: deliver change notifications to
partners' webhooks (retried with backoff, see `services.changes`) and drop old rate-limit
counts."""

from __future__ import annotations

from typing import Any, Final

from shebao.jobs.kinds import JobContext, job_kind
from shebao.jobs.schedules import Every, schedule

DELIVER_CHANGES: Final[str] = "partners.deliver_changes"


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


schedule(DELIVER_CHANGES, every=Every(minutes=5), kind=DELIVER_CHANGES)
