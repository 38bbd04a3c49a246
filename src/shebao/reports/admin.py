"""Read-only admin views: targets and figures change only through the audited imports, and a
produced bulletin never changes."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from shebao.reports.models import Bulletin, ImportBatch, ReportedFigure, Target

M = TypeVar("M", bound=models.Model)


class ReadOnlyAdmin(admin.ModelAdmin[M]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Target)
class TargetAdmin(ReadOnlyAdmin[Target]):
    list_display = ("year", "month", "region", "bank", "metric", "value", "batch")
    list_filter = ("year", "metric")
    search_fields = ("region__code", "region__name", "bank")
    list_select_related = ("region", "batch")


@admin.register(ReportedFigure)
class ReportedFigureAdmin(ReadOnlyAdmin[ReportedFigure]):
    list_display = ("year", "month", "region", "bank", "metric", "value", "batch")
    list_filter = ("year", "month", "metric")
    search_fields = ("region__code", "region__name", "bank")
    list_select_related = ("region", "batch")


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin[ImportBatch]):
    list_display = ("imported_at", "kind", "file_name", "rows", "created", "updated", "unchanged")
    list_filter = ("kind",)


@admin.register(Bulletin)
class BulletinAdmin(ReadOnlyAdmin[Bulletin]):
    list_display = (
        "generated_at",
        "region",
        "year",
        "month",
        "format",
        "version",
        "superseded_by",
        "issuer",
        "file_name",
    )
    list_filter = ("format", "year")
    list_select_related = ("region", "superseded_by__region")
    exclude = ("snapshot",)
