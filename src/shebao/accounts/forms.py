"""Forms of the account pages (API tokens)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from shebao.accounts.choices import ApiScope
from shebao.accounts.services import API_TOKEN_MAX_DAYS


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="用途",
        max_length=64,
        error_messages={
            "required": "请填写令牌用途，如“农业银行开户结果回传”",
            "max_length": "用途不能超过 64 个字",
        },
    )
    scopes = forms.MultipleChoiceField(
        label="可调用的接口",
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "请至少选择一个可调用的接口"},
        help_text="令牌只能调用勾选的接口；各接口仍按账号角色和数据范围把关。",
    )
    expires_on = forms.DateField(
        label="有效期至",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "请选择有效期", "invalid": "日期格式应为 年-月-日"},
        help_text=f"必须设定，最长 {API_TOKEN_MAX_DAYS} 天；到期当天 24 时失效。",
    )
    owner = forms.CharField(
        label="令牌归属账号",
        max_length=150,
        required=False,
        help_text="系统管理员可为其他账号签发；留空为本人。",
    )

    def __init__(self, *args: Any, can_choose_owner: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not can_choose_owner:
            del self.fields["owner"]
        if not self.is_bound:
            self.initial.setdefault("scopes", list(ApiScope.values))
            self.initial.setdefault("expires_on", timezone.localdate() + timedelta(days=90))

    def clean_expires_on(self) -> date:
        value: date = self.cleaned_data["expires_on"]
        today = timezone.localdate()
        if value < today:
            raise forms.ValidationError("有效期不能早于今天")
        if value > today + timedelta(days=API_TOKEN_MAX_DAYS - 1):
            raise forms.ValidationError(f"有效期最长 {API_TOKEN_MAX_DAYS} 天")
        return value
