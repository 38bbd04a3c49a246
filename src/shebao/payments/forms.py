"""Forms of the payment pages (Chinese labels; the services check the rules)."""

from __future__ import annotations

from typing import Any

from django import forms

from shebao.payments.models import PaymentProgramme


class _ProgrammeChoice(forms.ModelChoiceField[PaymentProgramme]):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.paying_office.name}）"


class BatchImportForm(forms.Form):
    programme = _ProgrammeChoice(label="发放项目", queryset=PaymentProgramme.objects.none())
    period = forms.CharField(
        label="发放期别",
        max_length=16,
        help_text="按月：2026-07；按季：2026-Q3；一次性：发放月份",
    )
    file = forms.FileField(
        label="发放文件",
        help_text="Excel 或 CSV（UTF-8 或 GB18030）：社会保障号码（或身份证号）、姓名、金额（元）",
    )

    def __init__(self, *args: Any, programmes: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["programme"].queryset = programmes  # type: ignore[attr-defined]


class BatchGenerateForm(forms.Form):
    programme = _ProgrammeChoice(label="发放项目", queryset=PaymentProgramme.objects.none())
    period = forms.CharField(label="发放期别", max_length=16)
    amount = forms.CharField(
        label="每人发放金额（元）",
        max_length=16,
        required=False,
        help_text="留空则按项目的标准发放金额",
    )

    def __init__(self, *args: Any, programmes: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["programme"].queryset = programmes.filter(  # type: ignore[attr-defined]
            scheme__isnull=False
        )
