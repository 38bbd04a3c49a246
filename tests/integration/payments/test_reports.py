"""Amounts paid into cards per programme, region and month feed the dashboard's panel and a
section (paragraph and 附表三) of the monthly bulletin, exact to the fen; the bulletin's
stored snapshot keeps them, and a month without payments leaves the bulletin unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from shebao.payments.domain.bankfile import Outcome, ResultLine
from shebao.payments.models import BankPaymentFile, BankPaymentLine
from shebao.payments.selectors import paid_into_cards, paid_into_cards_panel
from shebao.payments.services.bank import (
    bank_results_file,
    payment_file_download,
    payment_files_export,
    payment_results_import,
)
from shebao.payments.services.batches import (
    payment_batch_approve,
    payment_batch_import,
    payment_batch_submit,
)
from shebao.reports.domain.bulletin import BulletinFigures, compute_bulletin
from shebao.reports.domain.document import bulletin_document, render_text
from shebao.reports.selectors import bulletin_figures
from tests.factories import make_user
from tests.integration.payments.batches_world import BatchWorld, build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def world(tmp_path: Path) -> BatchWorld:
    return build_world(tmp_path)


def _paid(world: BatchWorld) -> None:
    path = world.write(
        "发放.csv",
        [world.row(0, "1,234.56"), world.row(1, "0.01"), world.row(2, "2000")],
    )
    batch = payment_batch_import(
        actor=world.payer, programme_id=world.programme().pk, period="2026-03", path=path
    )
    payment_batch_submit(actor=world.payer, batch_id=batch.pk)
    payment_batch_approve(actor=world.checker, batch_id=batch.pk)
    payment_files_export(actor=world.checker, batch_id=batch.pk)
    bank_user = make_user("bank_operator", world.branch)
    for record in BankPaymentFile.objects.filter(batch=batch):
        payment_file_download(actor=bank_user, file_id=record.pk)
        lines = BankPaymentLine.objects.filter(file=record).select_related("row").order_by("pk")
        results = [
            ResultLine(
                row=i + 1,
                reference=line.reference,
                id_number=line.row.frozen_id_number,
                account_number=line.row.frozen_account_number,
                amount_fen=line.amount_fen,
                # The 0.01 payment fails: only what the bank paid is counted.
                outcome=Outcome.FAILED if line.amount_fen == 1 else Outcome.SUCCEEDED,
                reason=None,
                reason_text="账户冻结" if line.amount_fen == 1 else "",
            )
            for i, line in enumerate(lines)
        ]
        payment_results_import(actor=bank_user, data=bank_results_file(record, results))


def test_paid_amounts_per_programme_region_and_month_are_exact(world: BatchWorld) -> None:
    _paid(world)
    (figure,) = paid_into_cards(region_prefix="4207")
    assert (figure.month, figure.region_code, figure.count, figure.paid_fen) == (
        "2026-03",
        "420704",
        2,
        323456,
    )
    assert paid_into_cards(region_prefix="4202") == []
    panel = paid_into_cards_panel(region_prefix="4207", year=2026, month=3)
    assert (panel.total_count, panel.total_fen, panel.total_yuan) == (2, 323456, "3,234.56")
    assert panel.rows[0].region_name == "鄂城区"
    assert paid_into_cards_panel(region_prefix="4207", year=2026, month=2).rows == []


def test_the_bulletin_has_a_payments_section_kept_in_its_snapshot(world: BatchWorld) -> None:
    _paid(world)
    figures = bulletin_figures(year=2026, month=3, region_code="420700")
    assert [(p.region, p.count, p.paid_fen) for p in figures.payments] == [("鄂城区", 2, 323456)]
    again = BulletinFigures.from_snapshot(figures.to_snapshot())
    assert again == figures
    document = bulletin_document(compute_bulletin(figures))
    text = render_text(document)
    assert "（三）待遇及补贴发放进卡情况" in text and "3,234.56元" in text
    table = document.tables[-1]
    assert table.label == "附表三"
    assert table.rows[-1] == ("", "合计", "", "2", "3,234.56")

    quiet = bulletin_figures(year=2026, month=2, region_code="420700")
    assert quiet.payments == () and "payments" not in quiet.to_snapshot()
    assert [t.label for t in bulletin_document(compute_bulletin(quiet)).tables] == [
        "附表一",
        "附表二",
    ]
