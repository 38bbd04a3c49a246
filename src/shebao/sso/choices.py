"""Statuses and levels of the single sign-on app."""

from __future__ import annotations

from django.db import models


class Assurance(models.TextChoices):
    """The real-name assurance level of a citizen's sign-in, sent to portals in `acr`.

    sms: the holder named the card (card number, or ID number and name, matched against the
        registry) and typed the one-time code sent to the phone on record.
    ecard: the holder confirmed the sign-in from "my e-card" on a phone that had itself been
        signed in that way, so it adds possession of that phone's e-card session; higher.
    """

    SMS = "urn:shebao:acr:sms", "卡号（或身份证号和姓名）+ 短信验证码"
    ECARD = "urn:shebao:acr:ecard", "电子社保卡扫码确认"


# The order of the levels, lowest first: a portal that asks for a level (acr_values) gets
# at least that level or a fresh sign-in.
ASSURANCE_RANK: dict[str, int] = {Assurance.SMS.value: 1, Assurance.ECARD.value: 2}


class QrLoginStatus(models.TextChoices):
    PENDING = "pending", "等待扫码确认"
    CONFIRMED = "confirmed", "已在手机上确认"
    COMPLETED = "completed", "已登录"
    REFUSED = "refused", "已在手机上拒绝"
