"""上门服务 appointments: booked → assigned → visited, or cancelled before the visit."""

from __future__ import annotations

import pytest

from shebao.cards.domain.home_service import (
    HomeServiceEvent,
    HomeServiceStatus,
    home_service_transition,
)
from shebao.errors import ValidationFailed

pytestmark = pytest.mark.unit

S, E = HomeServiceStatus, HomeServiceEvent


@pytest.mark.parametrize(
    ("status", "event", "after"),
    [
        (S.BOOKED, E.ASSIGN, S.ASSIGNED),
        (S.ASSIGNED, E.ASSIGN, S.ASSIGNED),
        (S.ASSIGNED, E.VISIT, S.VISITED),
        (S.BOOKED, E.CANCEL, S.CANCELLED),
        (S.ASSIGNED, E.CANCEL, S.CANCELLED),
    ],
)
def test_allowed(status: S, event: E, after: S) -> None:
    assert home_service_transition(status, event) is after


@pytest.mark.parametrize(
    ("status", "event", "words"),
    [
        (S.BOOKED, E.VISIT, "预约当前为“已预约”，不能登记上门办结"),
        (S.VISITED, E.CANCEL, "预约当前为“已上门办结”，不能取消"),
        (S.CANCELLED, E.ASSIGN, "预约当前为“已取消”，不能派单"),
    ],
)
def test_refused_in_chinese(status: S, event: E, words: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        home_service_transition(status, event)
    assert caught.value.message == words
    assert caught.value.code == "HOME_SERVICE_INVALID_TRANSITION"
