"""Which roles use which payment pages (navigation shows them; views, selectors and the API
check them).

A paying office's clerks prepare, check and approve the batches of their own office's
programmes; a cooperating bank (or one of its branches) downloads its payment files and
uploads results; the auditor and the card centre read everything, changing nothing."""

from __future__ import annotations

from typing import Final

from shebao.accounts.choices import Role

# Prepare, correct, submit and approve batches (maker–checker between two clerks).
OFFICE_ROLES: Final = frozenset({Role.PAYING_OFFICE_CLERK, Role.SYSTEM_ADMIN})
# Read every programme and batch with its audit trail, change nothing.
READ_ONLY_ROLES: Final = frozenset({Role.AUDITOR, Role.CARD_CENTRE_OPERATOR})
BATCH_VIEW_ROLES: Final = OFFICE_ROLES | READ_ONLY_ROLES
# The bank side: payment and deduction files, results.
BANK_ROLES: Final = frozenset({Role.BANK_OPERATOR, Role.SYSTEM_ADMIN})
