from django.contrib import admin
from django.http import HttpRequest

from shebao.registration.models import ComparisonRun


@admin.register(ComparisonRun)
class ComparisonRunAdmin(admin.ModelAdmin[ComparisonRun]):
    """Read-only: runs are made by `shebao compare` or the runs page. Findings, registration
    status and survey records hold personal data and are worked on the registration pages
    (scoped, masked, audited), not in the admin."""

    list_display = ("id", "engine", "as_of", "status", "findings_loaded", "duration_seconds")
    list_filter = ("status", "engine")
    readonly_fields = [f.name for f in ComparisonRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
