from django.contrib import admin

from shebao.sso.models import Consent


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin[Consent]):
    list_display = ("user", "application", "scopes", "granted_at", "revoked_at")
    list_filter = ("revoked_at",)
    raw_id_fields = ("user", "application")
