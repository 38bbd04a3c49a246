"""Numbers on the progress pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def count(value: int | None) -> str:
    """12,345 (a dash for nothing reported)."""
    return "—" if value is None else f"{value:,}"
