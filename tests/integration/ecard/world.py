"""A small world for the e-card tests: holders of active cards with phones on record, the
card centre's clerk, the SMS code read from the outbox file as the holder reads the phone."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from shebao.accounts.models import User
from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import Card
from shebao.registry.models import Person
from shebao.sms.backends import outbox_path
from tests.factories import make_card
from tests.integration.cards.custody_world import build_chain


@dataclass
class World:
    clerk: User
    people: list[Person]
    cards: list[Card]


def build_world() -> World:
    chain = build_chain(people=4)
    cards = [
        make_card(p, custodian=None, status=CardStatus.ACTIVE.value, bank=chain.bank)
        for p in chain.people
    ]
    return World(clerk=chain.centre_clerk, people=chain.people, cards=cards)


def last_code(phone: str) -> str:
    """The code in the newest text sent to `phone`."""
    for line in reversed(outbox_path().read_text(encoding="utf-8").splitlines()):
        message = json.loads(line)
        if message["phone"] == phone:
            found = re.search(r"验证码 (\d{6})", message["text"])
            assert found, message["text"]
            return found.group(1)
    raise AssertionError(f"no message to {phone}")
