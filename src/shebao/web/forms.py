"""Forms of the web UI: they parse and check input and hand typed values to the selectors
and services; the rules themselves (purpose, ID number, lockout) live in the domain apps."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils import timezone

from shebao.accounts.audit import require_purpose
from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import User
from shebao.accounts.selectors import AuditFilter
from shebao.errors import ValidationFailed
from shebao.identity.id_number import validate_id_number
from shebao.registry.models import Person
from shebao.web.session import StatedPurpose

REQUIRED = {"required": "此项为必填项"}


class LoginForm(forms.Form):
    username = forms.CharField(
        label="用户名",
        max_length=150,
        error_messages={"required": "请输入用户名"},
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label="密码",
        strip=False,
        error_messages={"required": "请输入密码"},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self.request = request
        self.user: User | None = None
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        username = cleaned.get("username")
        password = cleaned.get("password")
        if not username or not password:
            return cleaned
        user = authenticate(self.request, username=username, password=password)
        if isinstance(user, User):
            self.user = user
            return cleaned
        # One answer for an unknown name, a wrong password and a locked (name, client) pair,
        # so the form tells nobody which names exist or are locked.
        raise forms.ValidationError(login_failed_message(), code="invalid_login")


def login_failed_message() -> str:
    return (
        f"用户名或密码错误，或尝试次数过多。连续输错 {settings.SHEBAO_LOCKOUT_THRESHOLD} 次后，"
        f"须等待 {settings.SHEBAO_LOCKOUT_MINUTES} 分钟再试。"
    )


def _purpose_choices() -> list[tuple[str, str]]:
    return [("", "请选择用途"), *Purpose.choices]


class PurposeForm(forms.Form):
    """Why personal data is looked at; 'other' needs a short explanation."""

    purpose = forms.ChoiceField(
        label="用途",
        choices=_purpose_choices,
        error_messages={"required": "请选择查看个人信息的用途", "invalid_choice": "用途无效"},
    )
    purpose_note = forms.CharField(
        label="用途说明",
        required=False,
        max_length=255,
        help_text="用途为“其他”时必填（至少 4 个字）",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "purpose" not in cleaned:
            return cleaned
        try:
            purpose, note = require_purpose(cleaned.get("purpose"), cleaned.get("purpose_note"))
        except ValidationFailed as exc:
            field = "purpose_note" if exc.code == "PURPOSE_NOTE_REQUIRED" else "purpose"
            self.add_error(field, exc.message)
            return cleaned
        cleaned["purpose"], cleaned["purpose_note"] = purpose, note
        return cleaned

    def stated(self) -> StatedPurpose:
        return StatedPurpose(
            purpose=self.cleaned_data["purpose"], note=self.cleaned_data["purpose_note"]
        )


class PersonSearchForm(PurposeForm):
    q = forms.CharField(
        label="身份证号码或姓名",
        max_length=64,
        error_messages={"required": "请输入身份证号码或姓名"},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "placeholder": "18 位身份证号码，或姓名",
                "autofocus": True,
            }
        ),
    )

    field_order = ["q", "purpose", "purpose_note"]


class AuditFilterForm(forms.Form):
    username = forms.CharField(label="用户名", required=False, max_length=150)
    action = forms.ChoiceField(
        label="操作",
        required=False,
        choices=[("", "全部操作"), *AuditAction.choices],
        error_messages={"invalid_choice": "操作类型无效"},
    )
    person = forms.CharField(
        label="人员身份证号码",
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "18 位身份证号码"}),
    )
    date_from = forms.DateField(
        label="开始日期",
        required=False,
        error_messages={"invalid": "日期格式应为 年-月-日"},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label="结束日期",
        required=False,
        error_messages={"invalid": "日期格式应为 年-月-日"},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean_person(self) -> int | None:
        """The registry id of the person with this ID number (0 when nobody has it, so that
        the filter matches nothing without telling whether the number is registered)."""
        raw = (self.cleaned_data.get("person") or "").strip()
        if not raw:
            return None
        check = validate_id_number(raw)
        if not check.ok:
            raise forms.ValidationError("身份证号码有误：" + check.errors[0].message)
        pk = Person.objects.filter(id_number=check.normalized).values_list("pk", flat=True).first()
        return pk if pk is not None else 0

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "结束日期不能早于开始日期")
        return cleaned

    def filters(self) -> AuditFilter:
        data = self.cleaned_data
        return AuditFilter(
            username=data.get("username") or "",
            action=data.get("action") or "",
            person_id=data.get("person"),
            since=_day_start(data.get("date_from")),
            until=_day_start(data["date_to"] + timedelta(days=1)) if data.get("date_to") else None,
        )

    def describe(self) -> dict[str, Any]:
        """The filters as recorded in the audit row of an export (no ID number in clear)."""
        data = self.cleaned_data
        return {
            "username": data.get("username") or "",
            "action": data.get("action") or "",
            "person_id": data.get("person"),
            "date_from": data["date_from"].isoformat() if data.get("date_from") else "",
            "date_to": data["date_to"].isoformat() if data.get("date_to") else "",
        }


def _day_start(day: date | None) -> datetime | None:
    """Midnight of a civil date in the system's time zone (Asia/Shanghai)."""
    if day is None:
        return None
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


class DeathRevokeForm(forms.Form):
    """撤销死亡登记: the reason is required (at least four characters)."""

    reason = forms.CharField(
        label="撤销原因",
        min_length=4,
        max_length=200,
        help_text="如：本人到场核实仍健在，民政数据有误",
        error_messages={"min_length": "撤销原因至少 4 个字", "required": "请填写撤销原因"},
    )
