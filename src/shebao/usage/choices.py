"""Choices of the usage app's models, from the pure codes in `usage.domain.records`."""

from __future__ import annotations

from django.db import models

from shebao.usage.domain.records import (
    CARD_FORM_LABELS,
    FIELD_LABELS,
    RESULT_LABELS,
    SERVICE_LABELS,
)

__all__ = ["CARD_FORM_CHOICES", "FIELD_CHOICES", "RESULT_CHOICES", "SERVICE_CHOICES"]

FIELD_CHOICES: list[tuple[str, str]] = list(FIELD_LABELS.items())
SERVICE_CHOICES: list[tuple[str, str]] = list(SERVICE_LABELS.items())
CARD_FORM_CHOICES: list[tuple[str, str]] = list(CARD_FORM_LABELS.items())
RESULT_CHOICES: list[tuple[str, str]] = list(RESULT_LABELS.items())


class UploadChannel(models.TextChoices):
    API = "api", "接口"
    PAGE = "page", "页面上传"
