"""What the web UI remembers between pages in the user's session.

The stated purpose is asked once and reused for the searches and person pages that follow
(each still audited with it); the search query is kept server-side so that ID numbers never
appear in URLs, browser history or access logs.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from shebao.accounts.choices import Purpose

PURPOSE_KEY = "shebao.purpose"
SEARCH_KEY = "shebao.person_search"


@dataclass(frozen=True)
class StatedPurpose:
    purpose: str
    note: str = ""

    @property
    def label(self) -> str:
        return Purpose(self.purpose).label if self.purpose in Purpose.values else self.purpose


def remembered_purpose(request: HttpRequest) -> StatedPurpose | None:
    stored = request.session.get(PURPOSE_KEY)
    if not isinstance(stored, dict) or stored.get("purpose") not in Purpose.values:
        return None
    return StatedPurpose(purpose=str(stored["purpose"]), note=str(stored.get("note", "")))


def remember_purpose(request: HttpRequest, stated: StatedPurpose) -> None:
    request.session[PURPOSE_KEY] = {"purpose": stated.purpose, "note": stated.note}


def forget_purpose(request: HttpRequest) -> None:
    request.session.pop(PURPOSE_KEY, None)


def remembered_query(request: HttpRequest) -> str:
    stored = request.session.get(SEARCH_KEY, "")
    return stored if isinstance(stored, str) else ""


def remember_query(request: HttpRequest, query: str) -> None:
    request.session[SEARCH_KEY] = query
