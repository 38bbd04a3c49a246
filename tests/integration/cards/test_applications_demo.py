"""The issuing demo data on top of the 鄂州 demo: batches at various stages, production with
vendor results, account opening with pending, overdue and failed records."""

from __future__ import annotations

import pytest

from shebao.cards.demo_issuing import issuing_demo_seed
from shebao.cards.models import (
    AccountOpeningItem,
    Application,
    ApplicationBatch,
    Card,
    ProductionBatch,
)
from shebao.demo.services import demo_build

pytestmark = pytest.mark.django_db


def test_issuing_demo_seed(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    demo_build(people=2_000, seed=5)  # calls issuing_demo_seed()
    assert ApplicationBatch.objects.count() >= 3 and ProductionBatch.objects.exists()
    statuses = set(ApplicationBatch.objects.values_list("status", flat=True))
    assert {"in_production", "at_submitter"} <= statuses or "at_district" in statuses
    assert Application.objects.filter(status="ineligible").exists()
    assert Application.objects.filter(channel="online", postal_delivery=True).exists()
    assert Card.objects.filter(status="made").exists()
    assert Card.objects.filter(status="production_failed").exists()
    items = set(AccountOpeningItem.objects.values_list("status", flat=True))
    assert {"opened", "failed", "pending"} <= items
    assert issuing_demo_seed() == {"skipped": 1}


def test_demo_application_file_names_the_cooperating_banks(settings) -> None:  # type: ignore[no-untyped-def]
    """The demo's own collective file names every bank so that it is found among the
    cooperating banks (it wrote 农商银行 while the bank is 鄂州农商银行: 3 of 11 rows refused)."""
    import polars as pl

    from shebao.cards.domain.eligibility import resolve_bank
    from shebao.cards.services.applications import bank_key, cooperating_banks_for

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    demo_build(people=2_000, seed=5)
    rows = pl.read_csv(settings.DATA_DIR / "demo" / "applications.csv", infer_schema=False)
    banks = cooperating_banks_for("420700")
    written = set(rows["银行"].to_list())
    assert "鄂州农商银行" in written
    assert all(resolve_bank(bank_key(name), banks) is not None for name in written)
