from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.views import redirect_to_login
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from shebao.accounts.models import (
    ApiToken,
    AuditEvent,
    LoginThrottle,
    Organisation,
    User,
    UserRole,
)
from shebao.accounts.second_factor import totp_reset


def _admin_login(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """The admin site has no login of its own: its form would skip the one-time code."""
    if request.user.is_authenticated and request.user.is_staff:
        return redirect("admin:index")
    target = request.GET.get("next") or reverse("admin:index")
    return redirect_to_login(target, login_url=reverse("web:login"))


admin.site.login = _admin_login  # type: ignore[method-assign]

# Device keys are secrets shown once at enrolment: the admin site does not list them.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


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
    actions = ["reset_second_factor"]

    @admin.action(description="重置动态口令（手机丢失或更换；下次登录重新绑定）")
    def reset_second_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = request.user
        if not isinstance(actor, User):
            return
        for user in queryset:
            totp_reset(actor=actor, user=user)
        self.message_user(
            request, f"已重置 {queryset.count()} 个账号的动态口令", level=messages.SUCCESS
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
        "scopes",
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
