"""Admin for the custody chain: the card centre edits the issuing policy (recall period,
work subsidy, temporary-loss term, fees); handovers and signing sheets are read-only here —
they change only through the audited services. Registered from `CardsConfig.ready`, so that
the cards app's `admin.py` stays free for the issuing side."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from shebao.cards.models import CardIssuingPolicy, Handover, Receipt


@admin.register(CardIssuingPolicy)
class CardIssuingPolicyAdmin(admin.ModelAdmin[CardIssuingPolicy]):
    list_display = (
        "recall_after_days",
        "subsidy_per_card",
        "temporary_loss_days",
        "replacement_fee",
        "renewal_fee",
        "updated_at",
    )


class _ReadOnly(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Handover)
class HandoverAdmin(_ReadOnly):
    list_display = (
        "number", "kind", "from_organisation", "to_organisation", "status",
        "listed_count", "received_count", "missing_count", "extra_count", "dispatched_at",
    )  # fmt: skip
    list_filter = ("kind", "status")
    search_fields = ("number",)
    list_select_related = ("from_organisation", "to_organisation")


@admin.register(Receipt)
class ReceiptAdmin(_ReadOnly):
    list_display = ("number", "organisation", "holder", "status", "created_at", "sealed_at")
    list_filter = ("status",)
    search_fields = ("number",)
    list_select_related = ("organisation", "holder")
