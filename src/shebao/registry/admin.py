"""The registry in Django's admin: read-only and masked.

The admin bypasses the services (audit, scoping, purposes), so it never edits registry records
and never shows personal data in full: changes go through the services and the audited pages.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import User
from shebao.accounts.redaction import redact
from shebao.identity.masking import mask_bank_account, mask_id_number, mask_name, mask_phone
from shebao.registry.models import BankAccount, Employer, Enrollment, Household, Person, Scheme


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Scheme)
class SchemeAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "group")


@admin.register(Employer)
class EmployerAdmin(ReadOnlyAdmin):
    list_display = ("credit_code", "name", "kind", "region", "registered_on", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("=credit_code", "name")
    list_select_related = ("region",)


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdmin):
    list_display = ("number", "region")
    search_fields = ("=number",)
    list_select_related = ("region",)
    fields = ("number", "region")


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    """Masked list and detail; search by the full ID number only (no browsing by name)."""

    list_display = (
        "pk",
        "masked_id_number",
        "masked_name",
        "gender",
        "hukou_region",
        "life_status",
    )
    list_filter = ("gender", "hukou_type", "life_status")
    search_fields = ("=id_number",)
    list_select_related = ("hukou_region",)
    fields = (
        "masked_id_number",
        "masked_name",
        "gender",
        "birth_date",
        "ethnicity",
        "hukou_region",
        "residence_region",
        "household",
        "relation_to_head",
        "hukou_type",
        "life_status",
        "status_date",
        "masked_phone",
    )
    readonly_fields = fields

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """A person's page in the admin is a view of personal data (masked): audited."""
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200 and object_id.isdigit():
            with transaction.atomic():
                audit_record(
                    actor=request.user if isinstance(request.user, User) else None,
                    action=AuditAction.VIEW_PERSON,
                    target_type="person",
                    target_id=object_id,
                    person_id=int(object_id),
                    purpose=Purpose.OTHER,
                    purpose_note="系统管理后台查看（脱敏）",
                )
        return response

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """A search by ID number in the admin is a search of personal data: audited (the
        number itself is not recorded in full)."""
        response = super().changelist_view(request, extra_context)
        query = request.GET.get("q", "").strip()
        if query and response.status_code == 200:
            with transaction.atomic():
                audit_record(
                    actor=request.user if isinstance(request.user, User) else None,
                    action=AuditAction.SEARCH_PERSON,
                    target_type="person",
                    purpose=Purpose.OTHER,
                    purpose_note="系统管理后台查询（脱敏）",
                    detail={"query": redact(query)},
                )
        return response

    @admin.display(description="公民身份号码")
    def masked_id_number(self, obj: Person) -> str:
        return mask_id_number(obj.id_number)

    @admin.display(description="姓名")
    def masked_name(self, obj: Person) -> str:
        return mask_name(obj.name)

    @admin.display(description="联系电话")
    def masked_phone(self, obj: Person) -> str:
        return mask_phone(obj.phone) if obj.phone else ""


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    list_display = ("pk", "person_id", "scheme", "status", "insurance_region", "start_date")
    list_filter = ("scheme", "status")
    list_select_related = ("scheme", "insurance_region")
    fields = (
        "person_id",
        "scheme",
        "employer",
        "insurance_region",
        "status",
        "start_date",
        "end_date",
        "source",
    )
    readonly_fields = fields


@admin.register(BankAccount)
class BankAccountAdmin(ReadOnlyAdmin):
    list_display = ("pk", "person_id", "bank", "branch", "masked_account", "opened_on")
    list_select_related = ("bank", "branch")
    fields = ("person_id", "bank", "branch", "masked_account", "opened_on")
    readonly_fields = fields

    @admin.display(description="银行账号")
    def masked_account(self, obj: BankAccount) -> str:
        return mask_bank_account(obj.account_number)
