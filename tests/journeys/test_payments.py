"""Benefits paid into the card (issue #12 §3), on the real server:

- the paying office: `payer` uploads a pension file with a problem row, reads its reason in
  Chinese (the import runs on the worker, the page follows it), drops it and submits; the
  page refuses to let the same clerk approve;
  `checker` approves (the batch is frozen) and produces the banks' files;
- the bank: `bank` downloads its sealed file and uploads its results (one payment failed);
  `bankhq` (head office) answers the monthly deduction file (代扣), which branches never see;
- back at the office: the reconciliation to the fen, the failure in the queue (a made-up
  account refused, the card account confirmed), a re-payment batch made, cancelled, the
  failure released; another failure closed as 不再补发; a recovery part recovered and the
  rest waived by a second clerk;
- the auditor reads the batches, the audit trail and the queues, with no form to change them.

The payees are the demo's own (the rows of its approved 2026-05 batch: activated cards at
the demo bank's branch), paid here for 2026-08 so the file does not depend on other runs.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.journeys.conftest import Demo

_PAYEES = """
import json
from shebao.payments.models import PaymentRow
rows = (PaymentRow.objects.filter(batch__period="2026-05", payable=True)
        .order_by("row_number").values_list("id_number", "name")[:4])
print("PAYEES" + json.dumps(list(rows), ensure_ascii=False))
"""

_ANSWER = """
import sys
from pathlib import Path
from shebao.payments.domain.bankfile import FailureReason, Outcome, ResultLine
from shebao.payments.models import BankPaymentFile, BankPaymentLine
from shebao.payments.services.bank import bank_results_file
record = BankPaymentFile.objects.get(code="{code}")
lines = BankPaymentLine.objects.filter(file=record).select_related("row").order_by("pk")
results = [ResultLine(row=i + 1, reference=l.reference, id_number=l.row.frozen_id_number,
                      account_number=l.row.frozen_account_number, amount_fen=l.amount_fen,
                      outcome=Outcome.FAILED if i == 0 else Outcome.SUCCEEDED,
                      reason=FailureReason.ACCOUNT_CLOSED if i == 0 else None,
                      reason_text="账户已销户" if i == 0 else "")
           for i, l in enumerate(lines)]
Path("{out}").write_bytes(bank_results_file(record, results))
print("ANSWERED", len(results))
"""


def _payees(demo: Demo) -> list[tuple[str, str]]:
    done = demo.run("shell", "-c", _PAYEES)
    line = next(x for x in done.stdout.splitlines() if x.startswith("PAYEES"))
    payees: list[tuple[str, str]] = [tuple(p) for p in json.loads(line[6:])]  # type: ignore[misc]
    if len(payees) < 3:
        pytest.fail(f"the demo has no approved 2026-05 pension batch to take payees from: {payees}")
    return payees


def _batch_file(path: Path, payees: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["鄂州市城乡居民基本养老保险待遇发放名单（2026年8月）"])
        writer.writerow(["社会保障号码", "姓名", "金额（元）"])
        for id_number, name in payees:
            writer.writerow([id_number, name, "1,888.80"])
        writer.writerow([payees[0][0], payees[0][1], "壹仟元"])  # not a number: dropped
    return path


def test_office_bank_and_auditor_pay_into_cards(
    demo: Demo,
    login: Callable[[str], Any],
    shot: Callable[[Any, str], Path],
    tmp_path: Path,
) -> None:
    payees = _payees(demo)[:3]

    # The paying office prepares the batch.
    payer = login("payer")
    payer.goto(f"{demo.url}/payments/")
    payer.get_by_test_id("new-batch").click()
    form = payer.get_by_test_id("import-form")
    form.get_by_label("发放项目").select_option(
        label="城乡居民基本养老保险待遇（鄂州市人力资源和社会保障局待遇发放科）"
    )
    form.get_by_label("发放期别").fill("2026-08")
    form.get_by_label("发放文件").set_input_files(str(_batch_file(tmp_path / "养老金.csv", payees)))
    form.get_by_role("button", name="导入并校验").click()
    # The import runs on the worker: its page shows the progress, then opens the batch.
    payer.wait_for_url("**/payments/batches/FF*/", timeout=180_000)
    batch_url = payer.url
    reasons = payer.get_by_test_id("rows").inner_text()
    assert "金额无效" in reasons
    assert payees[0][1] not in reasons  # names masked
    shot(payer, "payments-01-problems")
    payer.get_by_test_id("rows").locator("input[name=note]").first.fill("金额有误，本期不发")
    payer.get_by_test_id("rows").get_by_role("button", name="剔除").first.click()
    payer.get_by_test_id("submit-batch").click()
    assert "待审批" in payer.get_by_test_id("batch-status").inner_text()
    payer.get_by_test_id("approve-batch").click()
    assert "不能审批本批次" in payer.get_by_test_id("form-error").inner_text()
    shot(payer, "payments-02-maker-cannot-approve")

    checker = login("checker")
    checker.goto(batch_url)
    checker.get_by_test_id("approve-batch").click()
    assert "已审批" in checker.get_by_test_id("batch-status").inner_text()
    checker.get_by_test_id("export-batch").click()
    assert "已生成银行文件" in checker.get_by_test_id("batch-status").inner_text()
    file_code = checker.get_by_test_id("bank-files").locator("td.mono").first.inner_text()
    shot(checker, "payments-03-approved-exported")

    # The bank downloads its file and uploads results.
    bank = login("bank")
    bank.goto(f"{demo.url}/payments/bank/")
    with bank.expect_download() as downloading:
        bank.get_by_test_id(f"download-{file_code}").click()
    sealed = tmp_path / "order.sm4"
    downloading.value.save_as(str(sealed))
    assert sealed.stat().st_size > 0
    answer = tmp_path / "result.sm4"
    demo.run("shell", "-c", _ANSWER.format(code=file_code, out=answer))
    bank.get_by_test_id("results-form").get_by_label("回盘文件（SM4 加密）").set_input_files(
        str(answer)
    )
    bank.get_by_role("button", name="上传回盘").click()
    assert "成功 2 笔，失败 1 笔" in bank.content()
    shot(bank, "payments-04-bank-results")

    # Back at the office: reconciliation, the failure queue, the re-payment.
    payer.goto(batch_url)
    recon = payer.get_by_test_id("reconciliation").inner_text()
    assert "5,666.40" in recon and "3,777.60" in recon and "1,888.80" in recon
    assert payer.get_by_test_id("no-differences").count() == 1
    shot(payer, "payments-05-reconciliation")
    payer.goto(f"{demo.url}/payments/failures/?status=open")
    failure = payer.get_by_test_id("failures").locator("tr", has_text="账户已销户").first
    # A made-up account is refused: re-payments go only to the person's card account.
    failure.locator("input[name=account_number]").fill("6228480000000000018")
    failure.get_by_role("button", name="更正").click()
    assert "不是该人员当前社保卡的银行账户" in payer.get_by_test_id("form-error").inner_text()
    failure = payer.get_by_test_id("failures").locator("tr", has_text="账户已销户").first
    failure.locator("input[name=note]").first.fill("账户已恢复，原卡账户重新发放")
    failure.get_by_role("button", name="更正").click()
    payer.goto(f"{demo.url}/payments/failures/?status=corrected")
    failure_id = (
        payer.get_by_test_id("failures")
        .locator("tr", has_text="账户已销户")
        .first.get_attribute("data-failure")
    )
    payer.locator(f"input[name=failures][value='{failure_id}']").check()
    payer.get_by_role("button", name="所选已更正记录生成补发批次").click()
    payer.wait_for_url("**/payments/batches/*/")
    repay_url = payer.url
    assert repay_url != batch_url
    shot(payer, "payments-06-repayment-batch")
    # The re-payment batch is cancelled: the failure is released and can be re-paid again.
    payer.locator("#id_cancel_note").fill("补发期别有误，重新补发")
    payer.get_by_role("button", name="作废批次").click()
    assert "已作废" in payer.get_by_test_id("batch-status").inner_text()
    payer.goto(f"{demo.url}/payments/failures/?status=queued")
    payer.get_by_test_id(f"release-failure-{failure_id}").get_by_role("button").click()
    assert "已释放" in payer.content()
    payer.goto(f"{demo.url}/payments/failures/?status=corrected")
    assert payer.locator(f"input[name=failures][value='{failure_id}']").count() == 1
    # A failure the office will not pay again: closed with the reason.
    payer.goto(f"{demo.url}/payments/failures/?status=open")
    frozen = payer.get_by_test_id("failures").locator("tr", has_text="账户冻结").first
    frozen.locator("summary").click()
    frozen.locator("input[name=reason]").fill("已通过社保经办窗口现金发放")
    frozen.get_by_role("button", name="不再补发").click()
    assert "已标记为不再补发" in payer.content()
    payer.goto(f"{demo.url}/payments/failures/?status=closed")
    assert "已通过社保经办窗口现金发放" in payer.get_by_test_id("failures").inner_text()
    shot(payer, "payments-07-failure-closed")

    # The recovery list: part recovered, the rest waived by a second clerk.
    payer.goto(f"{demo.url}/payments/recoveries/?status=open")
    owed_before = payer.get_by_test_id("total-outstanding").inner_text()
    recovery = payer.get_by_test_id("recoveries").locator("tr[data-recovery]").first
    recovery.locator("input[name=amount]").fill("100")
    recovery.locator("input[name=reference]").fill("HX20261207001")
    recovery.get_by_role("button", name="登记追回").click()
    assert "已登记追回" in payer.content()
    assert payer.get_by_test_id("total-outstanding").inner_text() != owed_before
    recovery = payer.get_by_test_id("recoveries").locator("tr[data-recovery]").first
    recovery.locator("summary").click()
    recovery.locator("input[name=reason]").fill("家属无力退还，经核实申请核销")
    recovery.get_by_role("button", name="申请核销").click()
    assert "核销须由其他经办人审批" in payer.get_by_test_id("recoveries").inner_text()
    checker.goto(f"{demo.url}/payments/recoveries/?status=waiving")
    checker.get_by_role("button", name="同意核销").first.click()
    assert "已核销" in checker.content()
    assert checker.get_by_test_id("total-waived").inner_text() != "0.00 元"
    shot(checker, "payments-08-recovery-waived")

    # The auditor reads everything and changes nothing.
    auditor = login("auditor")
    auditor.goto(batch_url)
    assert auditor.get_by_test_id("audit").count() == 1
    assert "审批通过（冻结）" in auditor.get_by_test_id("history").inner_text()
    assert auditor.get_by_test_id("approve-batch").count() == 0
    assert auditor.get_by_test_id("export-batch").count() == 0
    shot(auditor, "payments-09-auditor")
    auditor.goto(f"{demo.url}/payments/failures/")
    assert auditor.get_by_test_id("repay-form").count() == 0
    auditor.goto(f"{demo.url}/payments/recoveries/")
    assert auditor.get_by_test_id("total-owed").count() == 1
    assert auditor.locator("[data-testid^=recover-]").count() == 0
    shot(auditor, "payments-10-recoveries")


# Two demo holders the paying office may see (alive, an active card, no authorisation yet:
# other journeys in the same demo add persons elsewhere and sign their own), the head bank of
# the demo's `bankhq` clerk and a period nobody produced.
_DEDUCTION_PICK = """
import json
from shebao.accounts.models import User
from shebao.payments.models import DeductionFile
from shebao.payments.selectors_withholding import withholding_person_in_scope
from shebao.registry.models import Person, Scheme
bank = User.objects.get(username="bankhq").organisation
payer = User.objects.get(username="payer")
candidates = (Person.objects.filter(life_status="alive", cards__status="active",
                                    withholdings__isnull=True)
              .distinct().order_by("-pk").values_list("pk", "id_number", "name")[:500])
people = [[i, n] for pk, i, n in candidates if withholding_person_in_scope(payer, pk)][:2]
scheme = Scheme.objects.order_by("code").first()
taken = set(DeductionFile.objects.filter(bank=bank, scheme=scheme).values_list("period", flat=True))
period = next(f"2032-{m:02d}" for m in range(1, 13) if f"2032-{m:02d}" not in taken)
print("PICK" + json.dumps([people, bank.pk, bank.name, scheme.code, period], ensure_ascii=False))
"""

# The bank's answer to a deduction file: the first line refused (not enough money), the
# others deducted in full.
_DEDUCTION_ANSWER = """
from pathlib import Path
from shebao.payments.domain.bankfile import FailureReason, Outcome, ResultLine
from shebao.payments.models import DeductionFile, DeductionLine
from shebao.payments.services.withholding import deduction_results_file
record = DeductionFile.objects.get(code="{code}")
lines = DeductionLine.objects.filter(file=record).select_related("person").order_by("pk")
results = [ResultLine(row=i + 1, reference=l.reference, id_number=l.person.id_number,
                      account_number=l.account_number, amount_fen=l.amount_fen,
                      outcome=Outcome.FAILED if i == 0 else Outcome.SUCCEEDED,
                      reason=FailureReason.INSUFFICIENT_FUNDS if i == 0 else None,
                      reason_text="余额不足" if i == 0 else "")
           for i, l in enumerate(lines)]
Path("{out}").write_bytes(deduction_results_file(record, results))
print("ANSWERED", len(results))
"""


def test_the_head_bank_answers_the_monthly_deduction_file(
    demo: Demo,
    login: Callable[[str], Any],
    shot: Callable[[Any, str], Path],
    tmp_path: Path,
) -> None:
    """代扣, the bank's side: the office authorises two holders and produces the month's
    deduction file; the branch clerk does not see it, the head-office clerk (`bankhq`)
    downloads it sealed and uploads the results (one refused), the same results again change
    nothing, and the office reads the figures."""
    done = demo.run("shell", "-c", _DEDUCTION_PICK)
    tag = "PICK"
    people, bank_id, bank_name, scheme, period = json.loads(
        next(x for x in done.stdout.splitlines() if x.startswith(tag))[len(tag) :]
    )
    office = login("payer")
    for n, (id_number, _name) in enumerate(people):
        office.goto(f"{demo.url}/payments/withholding/")
        form = office.get_by_test_id("sign-form")
        form.get_by_label("公民身份号码").fill(id_number)
        form.get_by_label("险种").select_option(scheme)
        form.get_by_label("扣款银行").select_option(str(bank_id))
        form.get_by_label("扣款账号").fill(f"6222 0000 8888 000{n}")
        form.get_by_label("生效日期").fill("2026-01-01")
        form.get_by_role("button", name="签订授权").click()
        assert "已为 " in office.inner_text("main")
    office.goto(f"{demo.url}/payments/deductions/")
    export = office.get_by_test_id("export-form")
    export.get_by_label("险种").select_option(scheme)
    export.get_by_label("扣款期别（YYYY-MM）").fill(period)
    export.get_by_label("每人扣款金额（元）").fill("150.30")
    export.get_by_label("银行").select_option(str(bank_id))
    export.get_by_role("button", name="生成代扣文件").click()
    made = office.inner_text("main")
    assert f"已生成 {bank_name} 的代扣文件" in made, made
    code = made.split("的代扣文件 ", 1)[1].split("：", 1)[0]
    count = int(made.split(f"{code}：", 1)[1].split(" 笔", 1)[0])
    assert count >= 2

    # The branch clerk sees only its customers' payment files: no deduction file.
    branch = login("bank")
    branch.goto(f"{demo.url}/payments/bank/deductions/")
    assert code not in branch.inner_text("main")

    # The head bank downloads the sealed file and answers it.
    head = login("bankhq")
    head.goto(f"{demo.url}/payments/bank/deductions/")
    assert code in head.get_by_test_id("deduction-files").inner_text()
    with head.expect_download() as downloading:
        head.get_by_test_id(f"download-{code}").click()
    sealed = tmp_path / "deduction.sm4"
    downloading.value.save_as(str(sealed))
    assert sealed.stat().st_size > 0 and b"150.30" not in sealed.read_bytes()  # sealed
    shot(head, "payments-11-bank-deduction-file")
    answer = tmp_path / "deduction-result.sm4"
    demo.run("shell", "-c", _DEDUCTION_ANSWER.format(code=code, out=answer))
    for attempt in range(2):
        head.get_by_test_id("results-form").get_by_label("回盘文件（SM4 加密）").set_input_files(
            str(answer)
        )
        head.get_by_role("button", name="上传回盘").click()
        text = head.inner_text("main")
        if attempt == 0:
            assert f"扣款成功 {count - 1} 笔，失败 1 笔" in text, text
            shot(head, "payments-12-bank-deduction-results")
        else:
            assert "该回盘文件已导入过" in text and "未重复记账" in text, text
    deducted = (count - 1) * 15030
    deducted_yuan = f"{deducted // 100}.{deducted % 100:02d}"
    row = head.get_by_test_id("deduction-files").locator("tr", has_text=code).inner_text()
    assert deducted_yuan in row.replace(",", ""), row

    # The office reads the answer: deducted and refused, to the fen.
    office.goto(f"{demo.url}/payments/deductions/")
    row = office.get_by_test_id("deduction-files").locator("tr", has_text=code).inner_text()
    assert "150.30" in row and deducted_yuan in row.replace(",", ""), row
    shot(office, "payments-13-office-deductions-answered")
