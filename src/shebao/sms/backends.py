"""The SMS gateway port and the two backends that need no operator: a file outbox and the
console. `sms_send` picks the backend named by `settings.SHEBAO_SMS_BACKEND`."""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from shebao.identity.masking import mask_phone

__all__ = [
    "ConsoleBackend",
    "FileBackend",
    "SmsBackend",
    "SmsMessage",
    "outbox_path",
    "sms_backend",
    "sms_send",
]


@dataclass(frozen=True, slots=True)
class SmsMessage:
    phone: str
    text: str
    at: datetime


class SmsBackend(Protocol):
    """An SMS gateway: delivers one message or raises (the caller's transaction rolls back)."""

    def send(self, message: SmsMessage) -> None: ...


def outbox_path() -> Path:
    return Path(settings.DATA_DIR) / "sms" / "outbox.jsonl"


class FileBackend:
    """Appends each message as one JSON line (phone, text, time) to the outbox file in the
    data directory: what a developer, the demo and the tests read instead of a phone."""

    _lock = threading.Lock()

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or outbox_path()

    def send(self, message: SmsMessage) -> None:
        line = json.dumps(
            {"phone": message.phone, "text": message.text, "time": message.at.isoformat()},
            ensure_ascii=False,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


class ConsoleBackend:
    """Writes each message to standard error, the phone masked (logs carry no full phone
    numbers)."""

    def send(self, message: SmsMessage) -> None:
        sys.stderr.write(f"[短信] {mask_phone(message.phone)}：{message.text}\n")
        sys.stderr.flush()


_BACKENDS: dict[str, type[FileBackend] | type[ConsoleBackend]] = {
    "file": FileBackend,
    "console": ConsoleBackend,
}


def sms_backend() -> SmsBackend:
    name = str(getattr(settings, "SHEBAO_SMS_BACKEND", "file")).strip().lower() or "file"
    try:
        return _BACKENDS[name]()
    except KeyError:
        raise ImproperlyConfigured(
            f"SHEBAO_SMS_BACKEND 应为 {'、'.join(sorted(_BACKENDS))} 之一：{name}"
        ) from None


def sms_send(*, phone: str, text: str) -> SmsMessage:
    message = SmsMessage(phone=phone, text=text, at=timezone.now())
    sms_backend().send(message)
    return message
