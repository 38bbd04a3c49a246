"""gunicorn's access log without personal numbers.

Some paths carry an ID number (`/api/v1/persons/{id_number}`, the registration lookup); the
access log writes every path. This logger masks ID and mobile numbers in every field of an
access line (path, query, referrer, request line) with the same rule as the application log
(`shebao.accounts.redaction`). `shebao serve` configures it."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from shebao.accounts.redaction import redact


class RedactingLogger(Logger):
    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any
    ) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}
