"""Forms of the registration pages: they parse input and hand typed values to services."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms

from shebao.accounts.choices import Purpose
from shebao.comparison.domain import DEFAULT_THRESHOLD
from shebao.comparison.pipeline import ENGINE_NAMES
from shebao.intake.choices import ImportMode
from shebao.intake.formats.kinds import SourceKind
from shebao.registration.choices import (
    CATEGORY_CHOICES,
    ENGINE_LABELS,
    SCHEME_WANTED_CHOICES,
    Employment,
    FindingStatus,
    ReasonUninsured,
    VisitOutcome,
)
from shebao.registry.choices import SCHEMES

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
MAX_BULK = 500


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label="数据类型",
        required=False,
        choices=[("", "按表头自动识别")] + [(k.value, k.label) for k in SourceKind],
    )
    file = forms.FileField(
        label="数据文件",
        help_text="CSV（UTF-8 或 GB18030）、XLSX 或 Parquet；表头为中文",
        error_messages={"required": "请选择要导入的文件"},
    )
    mode = forms.ChoiceField(
        label="全量或增量",
        required=False,  # a form without it (older clients) imports a full snapshot
        choices=[
            (ImportMode.SNAPSHOT.value, "全量：该部门的完整数据，替换该类当前数据"),
            (ImportMode.INCREMENT.value, "增量：只含变化的行，叠加到该类当前数据上"),
        ],
        initial=ImportMode.SNAPSHOT.value,
        widget=forms.RadioSelect,
    )
    confirm_shrink = forms.BooleanField(
        label="确认是完整的全量数据",
        required=False,
        help_text="全量文件的行数不到当前数据一半时须勾选，否则不予导入（防止部分文件替换全部数据）",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("文件超过 200 MB，请用命令 shebao import 导入")
        return upload


class RunForm(forms.Form):
    engine = forms.ChoiceField(
        label="比对引擎",
        choices=[
            (e, ENGINE_LABELS.get(e, e) + ("（默认）" if e == "duckdb" else ""))
            for e in ENGINE_NAMES
        ],
    )
    # A date input shows only an ISO date: the locale's format would leave it empty.
    as_of = forms.DateField(
        label="比对基准日期",
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    threshold = forms.FloatField(
        label="疑似同一人匹配概率阈值", initial=DEFAULT_THRESHOLD, min_value=0.01, max_value=1.0
    )


STATUS_FILTER_CHOICES = [
    ("", "未处理（待处理和已分派）"),
    ("all", "全部"),
    *FindingStatus.choices,
]


class FindingFilterForm(forms.Form):
    category = forms.ChoiceField(
        label="问题类别", required=False, choices=[("", "全部类别"), *CATEGORY_CHOICES]
    )
    status = forms.ChoiceField(label="处理状态", required=False, choices=STATUS_FILTER_CHOICES)
    region = forms.ChoiceField(label="地区", required=False, choices=[("", "全部（管辖范围内）")])
    mine = forms.BooleanField(label="只看分派给我的", required=False)
    q = forms.CharField(
        label="姓名或身份证号码",
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    sort = forms.CharField(required=False, max_length=16, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, regions: list[tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["region"]
        if isinstance(field, forms.ChoiceField):
            field.choices = [("", "全部（管辖范围内）"), *(regions or [])]


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(label="分派给", choices=[])

    def __init__(
        self, *args: Any, assignees: list[tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        if isinstance(field, forms.ChoiceField):
            field.choices = assignees or []


class BulkAssignForm(forms.Form):
    """Several findings of the list, selected by their check boxes, to one clerk."""

    finding = forms.Field(required=False, widget=forms.MultipleHiddenInput)
    assignee = forms.ChoiceField(
        label="分派给", choices=[], error_messages={"required": "请选择经办人"}
    )

    def __init__(
        self, *args: Any, assignees: list[tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        if isinstance(field, forms.ChoiceField):
            field.choices = [("", "请选择经办人"), *(assignees or [])]

    def clean_finding(self) -> list[int]:
        # Only their form here: the service checks each against the actor's scope.
        values = self.cleaned_data.get("finding") or []
        try:
            ids = sorted({int(v) for v in values})
        except (TypeError, ValueError):
            raise forms.ValidationError("勾选的问题编号无效") from None
        if not ids:
            raise forms.ValidationError("请先勾选问题")
        if len(ids) > MAX_BULK:
            raise forms.ValidationError(f"一次最多分派 {MAX_BULK} 条问题")
        return ids


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(
        label="处理结果",
        choices=[
            (FindingStatus.CORRECTED, "已更正（更正人员库）"),
            (FindingStatus.CONFIRMED, "确认属实"),
            (FindingStatus.DISMISSED, "排除（不是问题）"),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="处理说明", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    name = forms.CharField(label="更正姓名", required=False, max_length=64)
    phone = forms.CharField(label="更正手机号码", required=False, max_length=16)
    death_date = forms.DateField(
        label="登记死亡日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    scheme_code = forms.ChoiceField(
        label="补录参保险种",
        required=False,
        choices=[("", "（不补录）"), *((code, f"{code} {name}") for code, name, _ in SCHEMES)],
    )
    start_date = forms.DateField(
        label="参保日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class RevealForm(forms.Form):
    purpose = forms.ChoiceField(label="查看用途", choices=[("", "请选择"), *Purpose.choices])
    purpose_note = forms.CharField(label="用途说明", required=False, max_length=255)


class SurveyForm(forms.Form):
    outcome = forms.ChoiceField(
        label="走访结果", choices=VisitOutcome.choices, initial=VisitOutcome.INTERVIEWED,
        widget=forms.RadioSelect, required=False,
        help_text="无人在家、拒绝调查时只记走访结果，稍后再访；已迁出、已死亡、查无此人请在备注中写明情况",
    )  # fmt: skip
    # Required when the person was interviewed (the service says so, by field).
    employment = forms.ChoiceField(
        label="就业情况", choices=Employment.choices, widget=forms.RadioSelect, required=False
    )
    reason_uninsured = forms.ChoiceField(
        label="未参保原因",
        required=False,
        choices=[("", "（已参保或不适用）"), *ReasonUninsured.choices],
    )
    scheme_wanted = forms.ChoiceField(
        label="拟参加险种", required=False, choices=[("", "（无）"), *SCHEME_WANTED_CHOICES]
    )
    voluntary_schemes = forms.MultipleChoiceField(
        label="自愿参加的险种", required=False, choices=SCHEME_WANTED_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    phone = forms.CharField(
        label="联系电话（手机）", required=False, max_length=16,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )  # fmt: skip
    note = forms.CharField(label="备注", required=False, max_length=255)

    def clean_outcome(self) -> str:
        # Not given (an older client, a script): the visit was an interview, as before.
        return str(self.cleaned_data.get("outcome") or VisitOutcome.INTERVIEWED)


def default_as_of() -> date:
    from shebao.identity._issues import today_in_china

    return today_in_china()
