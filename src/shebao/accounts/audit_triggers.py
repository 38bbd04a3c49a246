"""The SQLite audit triggers, for `shebao flush` to lift and restore around a full wipe.

(The migration that first created them keeps its own frozen copy.)"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "accounts_auditevent"
SQLITE_CREATE = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS audit_no_update", "DROP TRIGGER IF EXISTS audit_no_delete"]


def set_maintenance(connection: BaseDatabaseWrapper, on: bool) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT set_config('shebao.audit_maintenance', %s, false)", ["on" if on else "off"]
            )
        elif connection.vendor == "sqlite":
            for sql in SQLITE_DROP if on else SQLITE_CREATE:
                cursor.execute(sql)
