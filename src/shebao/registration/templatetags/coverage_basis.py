"""Which comparison the coverage figures reflect, for the coverage page to say so."""

from __future__ import annotations

from django import template
from django.utils import timezone

from shebao.registration.selectors import latest_run

register = template.Library()


@register.simple_tag
def coverage_basis() -> str:
    """`依据第12次比对（基准日期2026-11-30，2026-12-01 08:00完成）`: the last completed run
    updates the registration states that coverage counts."""
    run = latest_run()
    if run is None:
        return "尚未完成任何比对：按登记库现有的参保登记状态统计"
    finished = (
        f"，{timezone.localtime(run.finished_at):%Y-%m-%d %H:%M}完成" if run.finished_at else ""
    )
    return f"依据第{run.pk}次比对（比对基准日期{run.as_of:%Y-%m-%d}{finished}）"


@register.filter
def scheme_name(names: dict[str, str], code: str) -> str:
    """A scheme's name for its code (the code itself if the scheme is unknown)."""
    return names.get(code) or code
