"""The holder sign-in by card number (or ID number and name) and SMS code is the e-card
app's (`shebao.ecard.services.holders`); this adapter is the one place sso calls it."""

from __future__ import annotations

from dataclasses import dataclass

from shebao.accounts.models import User
from shebao.ecard.services.holders import holder_login_start, holder_login_verify


@dataclass(frozen=True, slots=True)
class CodeSent:
    person_id: int
    code_id: int
    phone_masked: str


def holder_code_send(*, card_number: str, id_number: str, name: str, client: str) -> CodeSent:
    sent = holder_login_start(
        card_number=card_number, id_number=id_number, name=name, client=client
    )
    return CodeSent(person_id=sent.person_id, code_id=sent.code_id, phone_masked=sent.phone_masked)


def holder_code_verify(*, person_id: int, code_id: int, code: str, client: str) -> User:
    return holder_login_verify(person_id=person_id, code_id=code_id, code=code, client=client)
