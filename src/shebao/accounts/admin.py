from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from shebao.accounts.models import (
    ApiToken,
    AuditEvent,
    LoginThrottle,
    Organisation,
    User,
    UserRole,
)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin[Organisation]):
    list_display = ("code", "name", "kind", "region", "parent", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name")
    raw_id_fields = ("region", "parent")


class UserRoleInline(admin.TabularInline[UserRole, User]):
    model = UserRole
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [UserRoleInline]
    list_display = ("username", "full_name", "organisation", "is_active")
    list_filter = ("is_active", "is_staff", "roles__role")
    search_fields = ("username", "full_name")
    raw_id_fields = ("organisation",)
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        ("机构", {"fields": ("organisation", "full_name")}),
    )


@admin.register(LoginThrottle)
class LoginThrottleAdmin(admin.ModelAdmin[LoginThrottle]):
    """Who failed to log in from where; deleting a row lifts that pair's lock."""

    list_display = ("username", "client", "failures", "locked_until", "updated_at")
    search_fields = ("username", "client")
    readonly_fields = ("username", "client", "failures", "updated_at")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = (
        "prefix",
        "name",
        "user",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")
    raw_id_fields = ("user",)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """Read-only: the audit log is append-only."""

    list_display = ("at", "username", "action", "target_type", "target_id", "purpose", "channel")
    list_filter = ("action", "channel")
    search_fields = ("username", "target_id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
