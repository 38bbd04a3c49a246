"""Display helpers for the templates: Chinese labels for stored codes."""

from __future__ import annotations

from typing import Any

from django import template
from django.core.exceptions import FieldDoesNotExist

from shebao.accounts.choices import AuditAction, Purpose
from shebao.registry.models import Person
from shebao.web import audit_display

register = template.Library()


@register.filter
def person_field_label(field: str) -> str:
    """'phone' → '联系电话': the Chinese name of a Person field in the change history."""
    try:
        model_field = Person._meta.get_field(field)
    except FieldDoesNotExist:
        return field
    return str(getattr(model_field, "verbose_name", field))


@register.filter
def purpose_label(value: str) -> str:
    return Purpose(value).label if value in Purpose.values else value


@register.filter
def action_label(value: str) -> str:
    return AuditAction(value).label if value in AuditAction.values else value


_CHANNELS = {"web": "网页", "api": "接口", "cli": "命令行"}


@register.filter
def channel_label(value: str) -> str:
    return _CHANNELS.get(value, value)


@register.filter
def target_label(target_type: str) -> str:
    """'person' → '人员', 'reports.Bulletin' → '进度通报' (see web.audit_display)."""
    return audit_display.target_label(target_type)


@register.filter
def detail_text(value: Any) -> str:
    """An audit row's detail as labelled Chinese fields, numbers masked (never raw JSON)."""
    return audit_display.detail_line(value) if value else ""


_STATUS_CLASSES = {"正常": "ok", "死亡": "off", "迁出": "warn"}


@register.filter
def status_class(label: str) -> str:
    """A CSS modifier for a person's status label (正常 / 死亡 / 迁出)."""
    return _STATUS_CLASSES.get(label, "neutral")
