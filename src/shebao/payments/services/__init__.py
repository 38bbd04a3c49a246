"""Writes of the payments app. Batches (import, generate, check, correct, drop, submit,
approve, cancel) are in `batches`, the programmes' configuration in `programmes`, the
database side of the check in `checking`."""
