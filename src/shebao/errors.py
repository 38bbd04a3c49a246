"""Typed errors with stable machine-readable codes and Chinese messages for people.

Every domain raises a subclass of `ShebaoError`; the API maps it to one JSON shape
(`{"error": {"code": ..., "message": ..., "details": [...]}}`) and the pages show `message`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ShebaoError(Exception):
    code: str
    message: str
    status: int = 400
    details: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class NotFound(ShebaoError):
    def __init__(self, message: str = "记录不存在", code: str = "NOT_FOUND") -> None:
        super().__init__(code=code, message=message, status=404)


class PermissionDenied(ShebaoError):
    def __init__(self, message: str = "无权访问该记录", code: str = "OUT_OF_SCOPE") -> None:
        super().__init__(code=code, message=message, status=403)


class ValidationFailed(ShebaoError):
    def __init__(
        self,
        message: str,
        code: str = "VALIDATION_FAILED",
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(code=code, message=message, status=422, details=details or [])
