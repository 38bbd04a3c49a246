"""Background work of the batches: importing a big office file, generating a batch from the
system's data, checking a batch again, and approving a big batch (the approval checks
every row again when the data the check read has changed since, and freezes the
snapshot). The services are the same as the pages call directly for small batches; the
job records who asked (`actor_id`) and runs as that clerk, so the maker–checker rule and
the scope hold in the background too."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from shebao.accounts.models import User
from shebao.jobs.kinds import JobContext, job_kind

BATCH_IMPORT: Final[str] = "payments.batch_import"
BATCH_GENERATE: Final[str] = "payments.batch_generate"
BATCH_CHECK: Final[str] = "payments.batch_check"
BATCH_APPROVE: Final[str] = "payments.batch_approve"


def _actor(params: dict[str, Any]) -> User:
    return User.objects.get(pk=int(params["actor_id"]))


def _summary(batch_id: int) -> dict[str, Any]:
    from shebao.payments.models import PaymentBatch

    batch = PaymentBatch.objects.get(pk=batch_id)
    return {
        "batch_id": batch.pk,
        "batch": batch.code,
        "status": batch.status,
        "rows": batch.row_count,
        "payable_rows": batch.payable_count,
        "payable_fen": batch.payable_fen,
        "problem_rows": batch.problem_count,
    }


@job_kind(BATCH_IMPORT, label="导入发放名单并校验")
def run_import(ctx: JobContext) -> dict[str, Any]:
    from shebao.payments.services.batches import payment_batch_import

    params = ctx.parameters
    ctx.progress(0, 2, "读取发放名单")
    batch = payment_batch_import(
        actor=_actor(params),
        programme_id=int(params["programme_id"]),
        period=str(params["period"]),
        path=Path(params["path"]),
        file_name=str(params.get("file_name", "")),
        check=False,
    )
    ctx.progress(1, 2, "逐行校验")
    if batch.status == "draft":
        from shebao.payments.services.batches import payment_batch_check

        payment_batch_check(actor=_actor(params), batch_id=batch.pk)
    ctx.progress(2, 2, "完成")
    return _summary(batch.pk)


@job_kind(BATCH_GENERATE, label="按系统数据生成发放批次")
def run_generate(ctx: JobContext) -> dict[str, Any]:
    from shebao.payments.services.batches import payment_batch_generate

    params = ctx.parameters
    ctx.progress(0, 1, "读取待遇领取数据并校验")
    amount = params.get("amount_fen")
    result = payment_batch_generate(
        actor=_actor(params),
        programme_id=int(params["programme_id"]),
        period=str(params["period"]),
        amount_fen=None if amount is None else int(amount),
    )
    ctx.progress(1, 1, "完成")
    return {**_summary(result.batch.pk), "created": result.created}


@job_kind(BATCH_CHECK, label="发放批次逐行校验")
def run_check(ctx: JobContext) -> dict[str, Any]:
    from shebao.payments.services.batches import payment_batch_check

    params = ctx.parameters
    ctx.progress(0, 1, "逐行校验")
    batch = payment_batch_check(actor=_actor(params), batch_id=int(params["batch_id"]))
    ctx.progress(1, 1, "完成")
    return _summary(batch.pk)


@job_kind(BATCH_APPROVE, label="审批发放批次（复核并冻结）")
def run_approve(ctx: JobContext) -> dict[str, Any]:
    from shebao.payments.services.batches import payment_batch_approve

    params = ctx.parameters
    ctx.progress(0, 1, "复核并冻结发放明细")
    batch = payment_batch_approve(
        actor=_actor(params),
        batch_id=int(params["batch_id"]),
        note=str(params.get("note", "")),
    )
    ctx.progress(1, 1, "完成")
    return _summary(batch.pk)
