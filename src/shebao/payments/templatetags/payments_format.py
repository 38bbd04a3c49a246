"""`{{ fen|yuan }}`: integer fen as yuan with thousands separators (— for none)."""

from __future__ import annotations

from django import template

from shebao.payments.domain.amounts import format_yuan

register = template.Library()


@register.filter
def yuan(fen: int | None) -> str:
    return "—" if fen is None else format_yuan(int(fen))
