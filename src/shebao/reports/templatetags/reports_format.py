"""Numbers on the progress pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def count(value: int | None) -> str:
    """12,345 (a dash for nothing reported)."""
    return "—" if value is None else f"{value:,}"


@register.filter
def signed(value: int | None) -> str:
    """A change with its sign: `+1,234`, `−865,005` (the minus sign, not a hyphen), `0`."""
    return signed_count(value)


def signed_count(value: int | None) -> str:
    if value is None:
        return "—"
    if value > 0:
        return f"+{value:,}"
    if value < 0:
        return f"\u2212{-value:,}"
    return "0"
