"""The per-partner rate limit, counted in the database.

Why the database and not an in-process token bucket: `shebao serve` runs several worker
processes (and a province runs several machines); a bucket in each process would let a
partner through N times its limit. One row per partner and minute is incremented with a
single atomic upsert (`INSERT … ON CONFLICT DO UPDATE … RETURNING`, the same on SQLite and
PostgreSQL), in a transaction of its own that, on PostgreSQL, does not wait for the disk
(`synchronous_commit` off for it alone), so that the row lock is held for that statement
only and calls do not queue behind each other's fsync; on PostgreSQL the whole transaction
is one round trip to the server. The
previous minute's count no longer changes once the minute is over, so each process keeps it
in memory after reading it once. The sliding-window arithmetic is in `domain.ratelimit`.
A refused call is taken off the count again: a partner at its limit is served at its limit.
"""

from __future__ import annotations

import time
from threading import Lock

from django.db import DatabaseError, connection, transaction

from shebao.errors import ShebaoError
from shebao.partners.domain.ratelimit import WINDOW_SECONDS, RateDecision, rate_decide, window_start
from shebao.partners.models import RateWindow

__all__ = ["RateLimited", "rate_limit_take", "rate_windows_prune"]

_TABLE = RateWindow._meta.db_table
_UPSERT = (
    f'INSERT INTO {_TABLE} (partner_id, "window", calls) VALUES (%s, %s, 1) '  # noqa: S608
    f'ON CONFLICT (partner_id, "window") DO UPDATE SET calls = {_TABLE}.calls + 1 '
    "RETURNING calls"
)
_UPSERT_ALONE = f"BEGIN; SET LOCAL synchronous_commit TO OFF; {_UPSERT}; COMMIT"
_GIVE_BACK = f'UPDATE {_TABLE} SET calls = calls - 1 WHERE partner_id = %s AND "window" = %s'  # noqa: S608
_PREVIOUS = f'SELECT calls FROM {_TABLE} WHERE partner_id = %s AND "window" = %s'  # noqa: S608

_previous_counts: dict[tuple[int, int], int] = {}
_previous_lock = Lock()


class RateLimited(ShebaoError):
    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(
            code="RATE_LIMITED",
            message=f"调用过于频繁：本机构每分钟最多调用 {limit} 次，请 {retry_after} 秒后重试",
            status=429,
            details=[{"limit_per_minute": limit, "retry_after": retry_after}],
        )
        self.retry_after = retry_after


def _previous(partner_id: int, window: int) -> int:
    key = (partner_id, window - WINDOW_SECONDS)
    with _previous_lock:
        cached = _previous_counts.get(key)
    if cached is not None:
        return cached
    with connection.cursor() as cursor:
        cursor.execute(_PREVIOUS, [partner_id, key[1]])
        row = cursor.fetchone()
    count = int(row[0]) if row else 0
    with _previous_lock:
        if len(_previous_counts) > 10_000:
            _previous_counts.clear()
        _previous_counts[key] = count
    return count


def _count_one(partner_id: int, window: int) -> int:
    """This minute's count for the partner, the call being decided included."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # One round trip: the transaction, its setting, the upsert and the commit go to the
        # server as one simple-protocol query (Django's psycopg cursor binds parameters on
        # the client, which allows several statements). The partner's row is locked from the
        # upsert to the commit: a commit waiting for the WAL to reach the disk would make
        # every call of the partner queue behind the fsync of the one before, so this
        # transaction alone does not wait for it. A count lost in a crash is harmless.
        with connection.cursor() as cursor:
            try:
                cursor.execute(_UPSERT_ALONE, [partner_id, window])
            except DatabaseError:
                # A statement failed after BEGIN: end that transaction, not the connection.
                cursor.execute("ROLLBACK")
                raise
            raw = cursor.cursor
            while raw.description is None and raw.nextset():
                pass
            row = raw.fetchone()
        return int(row[0]) if row else 1
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(_UPSERT, [partner_id, window])
        row = cursor.fetchone()
    return int(row[0]) if row else 1


def rate_limit_take(
    *, partner_id: int, limit_per_minute: int, now: float | None = None
) -> RateDecision:
    """Count one call of the partner; raise RateLimited (HTTP 429) if it is over the limit."""
    now = time.time() if now is None else now
    window = window_start(now)
    current = _count_one(partner_id, window)
    decision = rate_decide(
        limit_per_minute=limit_per_minute,
        current=current,
        previous=_previous(partner_id, window),
        epoch_seconds=now,
    )
    if not decision.allowed:
        with connection.cursor() as cursor:
            cursor.execute(_GIVE_BACK, [partner_id, window])
        raise RateLimited(limit_per_minute, decision.retry_after)
    return decision


def rate_windows_prune(*, older_than_seconds: int = 3600) -> int:
    """Drop the counts of minutes long past (run by the partners' periodic job)."""
    cutoff = window_start(time.time()) - older_than_seconds
    deleted, _ = RateWindow.objects.filter(window__lt=cutoff).delete()
    return deleted
