"""Pairwise subjects and the QR sign-in's life cycle, without Django."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shebao.sso.domain import pairwise_subject, qr_next_status, sector_of

pytestmark = pytest.mark.unit

KEY = b"k" * 32


def test_a_person_has_one_subject_per_sector_and_different_ones_across_sectors() -> None:
    a = pairwise_subject(key=KEY, sector="zwfw.example.cn", person_id=7)
    assert a == pairwise_subject(key=KEY, sector="zwfw.example.cn", person_id=7)
    assert a != pairwise_subject(key=KEY, sector="library.example.cn", person_id=7)
    assert a != pairwise_subject(key=KEY, sector="zwfw.example.cn", person_id=8)
    assert a != pairwise_subject(key=b"x" * 32, sector="zwfw.example.cn", person_id=7)
    assert len(a) == 64 and a != "7"


def test_the_sector_is_the_redirect_hosts_whatever_the_paths() -> None:
    assert sector_of("https://a.example/cb https://a.example/other") == "a.example"
    assert sector_of("https://a.example/cb") != sector_of("https://b.example/cb")


NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=2)


@pytest.mark.parametrize(
    ("status", "transition", "to"),
    [
        ("pending", "confirm", "confirmed"),
        ("pending", "refuse", "refused"),
        ("confirmed", "complete", "completed"),
    ],
)
def test_allowed_transitions(status: str, transition: str, to: str) -> None:
    assert qr_next_status(status=status, transition=transition, expires_at=LATER, now=NOW) == to


@pytest.mark.parametrize(
    ("status", "transition"),
    [
        ("pending", "complete"),
        ("completed", "complete"),
        ("refused", "confirm"),
        ("confirmed", "confirm"),
        ("completed", "refuse"),
    ],
)
def test_refused_transitions_name_the_status(status: str, transition: str) -> None:
    with pytest.raises(ValueError, match=status):
        qr_next_status(status=status, transition=transition, expires_at=LATER, now=NOW)


def test_an_expired_request_allows_nothing() -> None:
    with pytest.raises(ValueError, match="expired"):
        qr_next_status(status="pending", transition="confirm", expires_at=NOW, now=NOW)
