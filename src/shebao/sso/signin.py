"""The holder sign-in by card number (or ID number and name) and SMS code is the e-card
app's (`shebao.ecard.services.holder_login_start` / `holder_login_verify`); this adapter is
the one place sso calls it, so the pages do not depend on its exact shape."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from shebao.accounts.models import User


@dataclass(frozen=True, slots=True)
class CodeSent:
    challenge: int
    phone_masked: str


def _ecard_services() -> Any:
    return importlib.import_module("shebao.ecard.services")


def holder_code_send(*, card_number: str, id_number: str, name: str, client: str) -> CodeSent:
    sent = _ecard_services().holder_login_start(
        card_number=card_number, id_number=id_number, name=name, client=client
    )
    return CodeSent(challenge=int(sent.code_id), phone_masked=str(sent.phone_masked))


def holder_code_verify(*, challenge: int, code: str, client: str) -> User:
    user: User = _ecard_services().holder_login_verify(code_id=challenge, code=code, client=client)
    return user
