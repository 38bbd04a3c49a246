"""The custodian invariant under random sequences of dispatch, confirmation (with cards
missing and extra), cancellation, pickup and recall: after every step each card has exactly
one custodian organisation, or is with its holder (no custodian, status issued or later); a
card on an open handover is still with its sender; a card awaiting pickup is at a point of
issue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from shebao.accounts.models import Organisation, User
from shebao.cards.domain.custody import FINAL_POINT_KINDS, HandoverKind, HandoverStatus
from shebao.cards.domain.lifecycle import CardEvent, CardPhase, CardStatus
from shebao.cards.models import Card, CardHistory, CardIssuingPolicy, Handover, HandoverItem
from shebao.cards.selectors.custody import custody_invariant_violations
from shebao.cards.services.custody import (
    PickupInput,
    card_pickup,
    cards_recall_overdue,
    handover_cancel,
    handover_confirm,
    handover_create,
)
from shebao.errors import ShebaoError
from tests.integration.cards.custody_world import build_chain

pytestmark = pytest.mark.django_db

# What the random runs reached, so the test shows it explored the whole chain.
REACHED: dict[str, int] = {"confirmed": 0, "discrepancies": 0, "issued": 0, "recalled": 0}


class CustodyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # Each run starts from an empty card table (the chain's organisations accumulate,
        # harmlessly: only this run's cards are looked at).
        chain = build_chain(people=3)
        self.chain = chain
        self.orgs: list[Organisation] = [
            chain.centre, chain.district, chain.town, chain.village, chain.other_village,
            chain.department, chain.school,
        ]  # fmt: skip
        self.clerks: dict[int, User] = {
            chain.centre.pk: chain.centre_clerk,
            chain.district.pk: chain.district_clerk,
            chain.town.pk: chain.town_clerk,
            chain.village.pk: chain.village_clerk,
            chain.other_village.pk: chain.other_village_clerk,
            chain.department.pk: chain.department_clerk,
            chain.school.pk: chain.school_clerk,
        }
        self.card_ids = [c.pk for c in chain.cards_at_centre(6)]
        self.handover_ids: list[int] = []
        CardIssuingPolicy.objects.create(recall_after_days=1)

    def _cards(self) -> Any:
        return Card.objects.filter(pk__in=self.card_ids)

    @rule(data=st.data())
    def dispatch(self, data: st.DataObject) -> None:
        holders = list(
            self._cards()
            .filter(status=CardStatus.MADE.value)
            .exclude(handover_items__is_open=True)
            .values_list("custodian_id", flat=True)
            .distinct()
        )
        if not holders:
            return
        sender = Organisation.objects.get(pk=data.draw(st.sampled_from(sorted(holders))))
        down = [o for o in self.orgs if o.parent_id == sender.pk]
        up = [o for o in self.orgs if o.pk == sender.parent_id]
        targets = [(HandoverKind.CARDS, o) for o in down] + [(HandoverKind.RECALL, o) for o in up]
        mostly_down: int = data.draw(st.integers(0, 3))
        if down and up and mostly_down:
            targets = targets[: len(down)]  # mostly down the chain, sometimes back up
        if not targets:
            return
        kind, receiver = data.draw(st.sampled_from(targets))
        free = list(
            self._cards()
            .filter(custodian=sender, status=CardStatus.MADE.value)
            .exclude(handover_items__is_open=True)
            .values_list("card_number", flat=True)
        )
        chosen = data.draw(st.lists(st.sampled_from(sorted(free)), min_size=1, unique=True))
        # Now and then a card of someone else slips in: the whole handover is refused.
        if data.draw(st.booleans()) and data.draw(st.booleans()):
            foreign = self._cards().exclude(custodian=sender).first()
            if foreign is not None:
                chosen.append(foreign.card_number)
        try:
            handover = handover_create(
                actor=self.clerks[sender.pk],
                to_organisation_id=receiver.pk,
                card_numbers="\n".join(chosen),
                kind=kind,
            )
        except ShebaoError:
            return
        self.handover_ids.append(handover.pk)

    @rule(data=st.data())
    def hand_down_whole_box(self, data: st.DataObject) -> None:
        """The common case: a level passes everything it holds to one of its children, who
        counts it all in."""
        holders = sorted(
            set(
                self._cards()
                .filter(status=CardStatus.MADE.value)
                .exclude(handover_items__is_open=True)
                .values_list("custodian_id", flat=True)
            )
        )
        if not holders:
            return
        sender = Organisation.objects.get(pk=data.draw(st.sampled_from(holders)))
        down = [o for o in self.orgs if o.parent_id == sender.pk]
        if not down:
            return
        receiver = data.draw(st.sampled_from(down))
        box = list(
            self._cards()
            .filter(custodian=sender, status=CardStatus.MADE.value)
            .exclude(handover_items__is_open=True)
            .values_list("card_number", flat=True)
        )
        handover = handover_create(
            actor=self.clerks[sender.pk],
            to_organisation_id=receiver.pk,
            card_numbers="\n".join(box),
        )
        self.handover_ids.append(handover.pk)
        handover_confirm(
            actor=self.clerks[receiver.pk], handover_id=handover.pk, arrived="\n".join(box)
        )

    def _open_handover(self, data: st.DataObject) -> Handover | None:
        open_ids = list(
            Handover.objects.filter(
                pk__in=self.handover_ids, status=HandoverStatus.DISPATCHED.value
            ).values_list("pk", flat=True)
        )
        if not open_ids:
            return None
        return Handover.objects.get(pk=data.draw(st.sampled_from(sorted(open_ids))))

    @rule(data=st.data())
    def confirm(self, data: st.DataObject) -> None:
        handover = self._open_handover(data)
        if handover is None:
            return
        listed = list(handover.items.values_list("code", flat=True))
        complete = data.draw(st.integers(0, 2)) > 0  # mostly everything arrives
        arrived = (
            list(listed)
            if complete
            else data.draw(st.lists(st.sampled_from(sorted(listed)), unique=True))
        )
        if data.draw(st.booleans()):
            stray = self._cards().exclude(card_number__in=listed).first()
            if stray is not None:
                arrived.append(stray.card_number)
        if not arrived:
            arrived = listed[:1]
        handover_confirm(
            actor=self.clerks[handover.to_organisation_id],
            handover_id=handover.pk,
            arrived="\n".join(arrived),
        )

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        handover = self._open_handover(data)
        if handover is not None:
            handover_cancel(
                actor=self.clerks[handover.from_organisation_id], handover_id=handover.pk
            )

    @rule(data=st.data())
    def pickup(self, data: st.DataObject) -> None:
        waiting = list(
            self._cards().filter(status=CardStatus.AWAITING_PICKUP.value).select_related("person")
        )
        if not waiting:
            return
        card = data.draw(st.sampled_from(waiting))
        assert card.custodian_id is not None
        right_person = data.draw(st.booleans()) or data.draw(st.booleans())
        id_number = card.person.id_number if right_person else "420704199001010000"
        try:
            card_pickup(
                actor=self.clerks[card.custodian_id],
                data=PickupInput(card.card_number, id_number, signed=True),
            )
        except ShebaoError:
            assert not right_person

    @rule(now=st.integers(0, 3))
    def recall(self, now: int) -> None:
        if now:
            return  # the recall sweep runs now and then
        CardHistory.objects.filter(
            card_id__in=self.card_ids, event=CardEvent.ARRIVE_FOR_PICKUP.value
        ).update(at=timezone.now() - timedelta(days=2))
        result = cards_recall_overdue(actor=None)
        self.handover_ids.extend(h.pk for h in result.handovers)

    def teardown(self) -> None:
        handovers = Handover.objects.filter(pk__in=self.handover_ids)
        REACHED["confirmed"] += handovers.filter(status=HandoverStatus.CONFIRMED.value).count()
        REACHED["discrepancies"] += handovers.filter(
            status=HandoverStatus.CONFIRMED_WITH_DISCREPANCIES.value
        ).count()
        REACHED["issued"] += self._cards().filter(status=CardStatus.ISSUED.value).count()
        REACHED["recalled"] += handovers.filter(kind=HandoverKind.RECALL.value).count()

    @invariant()
    def one_custodian_or_the_holder(self) -> None:
        assert not custody_invariant_violations().filter(pk__in=self.card_ids).exists()
        chain_orgs = {o.pk for o in self.orgs}
        for card in self._cards():
            status = CardStatus(card.status)
            if status.phase is CardPhase.WITH_HOLDER:
                assert card.custodian_id is None
            else:
                assert card.custodian_id in chain_orgs
            if status is CardStatus.AWAITING_PICKUP:
                assert card.custodian.kind in FINAL_POINT_KINDS
        for item in HandoverItem.objects.filter(card_id__in=self.card_ids, is_open=True):
            assert item.card is not None
            assert item.card.custodian_id == item.handover.from_organisation_id
        assert (
            HandoverItem.objects.filter(card_id__in=self.card_ids, is_open=True)
            .values("card_id")
            .distinct()
            .count()
            == HandoverItem.objects.filter(card_id__in=self.card_ids, is_open=True).count()
        )


def test_custodian_invariant_after_every_step() -> None:
    run_state_machine_as_test(
        CustodyMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=40,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    assert all(REACHED.values()), REACHED
