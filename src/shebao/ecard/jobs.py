"""The e-card's background work: every hour, spent QR codes and business tokens are purged
(see `services.purge`)."""

from __future__ import annotations

from typing import Any, Final

from shebao.jobs.kinds import JobContext, job_kind
from shebao.jobs.schedules import Every, schedule

PURGE: Final[str] = "ecard.purge"


@job_kind(PURGE, label="清理过期的电子社保卡二维码和业务令牌")
def run_purge(ctx: JobContext) -> dict[str, Any]:
    from shebao.ecard.services.purge import qr_codes_purge

    return qr_codes_purge().as_dict()


schedule(PURGE, every=Every(minutes=60), kind=PURGE)
