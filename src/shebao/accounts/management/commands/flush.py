"""Django's `flush`, able to empty the append-only audit log.

Flushing wipes the whole database (tests do it between transactional tests); the audit
triggers are lifted only for the duration of that wipe."""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections

from shebao.accounts.audit_triggers import set_maintenance


class Command(FlushCommand):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        set_maintenance(connection, on=True)
        try:
            super().handle(**options)
        finally:
            set_maintenance(connection, on=False)
