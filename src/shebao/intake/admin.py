from django.contrib import admin
from django.http import HttpRequest

from shebao.intake.models import ImportBatch


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin[ImportBatch]):
    """Read-only: batches are made by imports, never edited by hand."""

    list_display = ("id", "kind", "file_name", "status", "rows_read", "rows_rejected", "created_at")
    list_filter = ("status", "kind")
    search_fields = ("file_name", "file_sha256")
    readonly_fields = [f.name for f in ImportBatch._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
