"""Background work of the bank side: exporting a big batch's bank files (with progress), the
nightly recovery sweep for deaths the registry loaded in bulk (no signal), and the nightly
sweep of files a killed export left on disk."""

from __future__ import annotations

from typing import Any, Final

from shebao.accounts.models import User
from shebao.jobs.kinds import JobContext, job_kind
from shebao.jobs.schedules import DailyAt, schedule

EXPORT_BANK_FILES: Final[str] = "payments.export_bank_files"
RECOVERIES_SWEEP: Final[str] = "payments.recoveries_sweep"
ORPHAN_FILES_SWEEP: Final[str] = "payments.orphan_bank_files_sweep"


@job_kind(EXPORT_BANK_FILES, label="生成银行代发文件")
def run_export(ctx: JobContext) -> dict[str, Any]:
    from shebao.payments.services.bank import payment_files_export

    params = ctx.parameters
    actor = User.objects.get(pk=params["actor_id"])
    ctx.progress(0, None, "读取冻结的发放明细")
    files = payment_files_export(
        actor=actor, batch_id=int(params["batch_id"]), progress=ctx.progress
    )
    return {
        "batch_id": int(params["batch_id"]),
        "files": [f.code for f in files],
        "rows": sum(f.record_count for f in files),
        "fen": sum(f.total_fen for f in files),
    }


@job_kind(RECOVERIES_SWEEP, label="死亡人员待遇追回清单")
def run_recoveries_sweep(ctx: JobContext) -> dict[str, Any]:
    from shebao.payments.services.bank import payment_recoveries_sweep

    return {"added": payment_recoveries_sweep()}


schedule(RECOVERIES_SWEEP, every=DailyAt(hour=2, minute=40), kind=RECOVERIES_SWEEP)


@job_kind(ORPHAN_FILES_SWEEP, label="清理中断导出遗留的银行文件")
def run_orphan_files_sweep(ctx: JobContext) -> dict[str, Any]:
    from shebao.payments.services.bank import bank_files_sweep_orphans

    return {"removed": bank_files_sweep_orphans()}


schedule(ORPHAN_FILES_SWEEP, every=DailyAt(hour=2, minute=50), kind=ORPHAN_FILES_SWEEP)
