"""Partners are told of a change to a person they verified as soon as it commits.

The registry saves the Person on every change partners watch (death, move, name; see
`registry.services`), and Django sends `post_save`; the registry sits below this app and
must not import it, so this app listens. The person ids saved in one transaction are
collected and, once it commits, one delivery job is queued (`webhooks_enqueue_for`) for
the partners with a webhook that verified any of them; a rolled-back change queues
nothing. Bulk loads send no signal: the five-minute job catches those.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import transaction

from shebao.registry.models import Person

_local = threading.local()


class _Batch:
    """The persons saved in the current transaction, sent on to the queue on commit."""

    def __init__(self) -> None:
        self.person_ids: set[int] = set()

    def __call__(self) -> None:
        if getattr(_local, "batch", None) is self:
            _local.batch = None
        from shebao.partners.services.changes import webhooks_enqueue_for

        webhooks_enqueue_for(self.person_ids)


def _pending_batch() -> _Batch | None:
    """This thread's batch if its on-commit callback is still registered (a rolled-back
    savepoint or transaction drops the callback, and the batch with it)."""
    batch: _Batch | None = getattr(_local, "batch", None)
    if batch is None:
        return None
    connection = transaction.get_connection()
    if any(entry[1] is batch for entry in connection.run_on_commit):
        return batch
    return None


def person_saved(sender: type[Person], instance: Person, **kwargs: Any) -> None:
    if kwargs.get("raw") or kwargs.get("created"):
        return  # fixtures, and new persons no partner can have verified yet
    batch = _pending_batch()
    if batch is not None:
        batch.person_ids.add(instance.pk)
        return
    batch = _Batch()
    batch.person_ids.add(instance.pk)
    if transaction.get_connection().in_atomic_block:
        _local.batch = batch
    # robust: the change is committed already; a failure to queue is logged, and the
    # five-minute job delivers the change anyway.
    transaction.on_commit(batch, robust=True)
