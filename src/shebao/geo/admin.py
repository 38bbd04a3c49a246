from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from shebao.geo.models import Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin[Region]):
    """Regions are loaded by `shebao load_regions` and the demo: read-only here."""

    list_display = ("code", "name", "level", "full_name")
    list_filter = ("level",)
    search_fields = ("=code", "name", "full_name")
    ordering = ("code",)
    readonly_fields = ("code", "name", "level", "parent", "prefix", "full_name")
    show_full_result_count = False
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Region | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Region | None = None) -> bool:
        return False
