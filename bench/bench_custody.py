"""Benchmark: a box of N cards down the custody chain and back.

Creates the chain (card centre → district card office → town → village), N persons and N
cards at the card centre (bulk inserts: this measures the services, not the set-up), then
times each service on the whole box: dispatch (typed list of N numbers, every check
character checked, every card locked and checked), confirmation (reconciliation, custody
moved), arrival at the village (N cards to 待领取, N history rows, a signing sheet with N
lines), and the recall sweep of all N overdue cards (back to 已制卡, a recall handover).

    uv run python bench/bench_custody.py --cards 20000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shebao_bench_custody \\
        uv run python bench/bench_custody.py --cards 20000

The database named by DATABASE_URL must exist and is migrated and filled: do not point it
at real data. Prints wall times and cards per second; never prints personal data.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any


def _setup(data_dir: Path) -> None:
    os.environ.setdefault("SHEBAO_DATA_DIR", str(data_dir))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shebao.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _timed(label: str, n: int, fn: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    print(f"{label:<34} {seconds:8.2f} s   {n / seconds:10,.0f} 张/秒")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _setup(Path(tmp))
        run(args.cards)


def run(n: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from shebao.accounts.choices import OrganisationKind, Role
    from shebao.accounts.models import Organisation
    from shebao.accounts.services import organisation_create, user_create
    from shebao.cards.domain.codes import CardNumberSeries, card_id_code
    from shebao.cards.domain.lifecycle import CardEvent, CardStatus
    from shebao.cards.models import Card, CardHistory, CardIssuingPolicy
    from shebao.cards.services.custody import (
        cards_recall_overdue,
        handover_confirm,
        handover_create,
    )
    from shebao.geo.codes import level_of, parent_code_of, prefix_of
    from shebao.geo.models import Region
    from shebao.identity.id_number import id_number_check_char
    from shebao.registry.models import Person

    print(f"数据库：{connection.vendor}，卡片 {n:,} 张")
    for code, name in (
        ("420000", "湖北省"), ("420700", "鄂州市"), ("420704", "鄂城区"),
        ("420704001", "凤凰街道"), ("420704001201", "凤凰村村委会"),
    ):  # fmt: skip
        Region.objects.update_or_create(
            code=code,
            defaults={"name": name, "level": level_of(code), "prefix": prefix_of(code),
                      "parent_id": parent_code_of(code) if code != "420000" else None},
        )  # fmt: skip
    orgs: dict[str, Organisation] = {}
    users = {}
    chain = (
        ("centre", OrganisationKind.CARD_CENTRE, "420700", None, Role.CARD_CENTRE_OPERATOR),
        ("district", OrganisationKind.DISTRICT_CARD_OFFICE, "420704", "centre",
         Role.DISTRICT_CLERK),
        ("town", OrganisationKind.TOWN_OFFICE, "420704001", "district", Role.TOWN_CLERK),
        ("village", OrganisationKind.VILLAGE_COMMITTEE, "420704001201", "town",
         Role.VILLAGE_CLERK),
    )  # fmt: skip
    stamp = int(time.time())
    for key, kind, region, parent, role in chain:
        orgs[key] = organisation_create(
            actor=None, code=f"B{key}{stamp}", name=key, kind=kind,
            region=Region.objects.get(code=region),
            parent=orgs[parent] if parent else None,
        )  # fmt: skip
        users[key] = user_create(
            actor=None, username=f"bench_{key}_{stamp}", password=secrets.token_urlsafe(16) + "Aa1",
            organisation=orgs[key], roles=[role],
        )  # fmt: skip
    start = Person.objects.count()
    persons = []
    for i in range(n):
        body = f"420704{date(1960, 1, 1) + timedelta(days=(start + i) // 500):%Y%m%d}"
        body += f"{(start + i) % 500 * 2:03d}"
        persons.append(
            Person(id_number=body + id_number_check_char(body), name="张三", gender="M",
                   birth_date=date(1960, 1, 1), hukou_region_id="420704001201")
        )  # fmt: skip
    Person.objects.bulk_create(persons, batch_size=2000)
    person_ids = list(Person.objects.order_by("-pk").values_list("pk", flat=True)[:n])
    series = CardNumberSeries("BN")
    offset = Card.objects.filter(card_number__startswith="BN").count()
    now = timezone.now()
    Card.objects.bulk_create(
        [
            Card(card_number=series.card_number_for(offset + i),
                 card_id_code=card_id_code("420704", 0xBE00_0000_0000_0000 + offset + i),
                 person_id=pk, status=CardStatus.MADE.value, issuing_region_id="420704",
                 custodian=orgs["centre"], created_at=now, updated_at=now)
            for i, pk in enumerate(person_ids)
        ],
        batch_size=2000,
    )  # fmt: skip
    numbers = "\n".join(series.card_number_for(offset + i) for i in range(n))

    def hop(sender: str, receiver: str, label: str) -> None:
        h = _timed(
            f"移交 {label}",
            n,
            lambda: handover_create(
                actor=users[sender], to_organisation_id=orgs[receiver].pk, card_numbers=numbers
            ),
        )
        _timed(
            f"确认接收 {label}",
            n,
            lambda: handover_confirm(actor=users[receiver], handover_id=h.pk, arrived=numbers),
        )

    hop("centre", "district", "卡管中心→区卡办")
    hop("district", "town", "区卡办→街道")
    hop("town", "village", "街道→村委（到达待领取）")
    CardIssuingPolicy.objects.create(recall_after_days=1)
    CardHistory.objects.filter(event=CardEvent.ARRIVE_FOR_PICKUP.value).update(
        at=now - timedelta(days=2)
    )
    result = _timed("逾期回收", n, lambda: cards_recall_overdue(actor=None))
    if result.total != n:
        raise SystemExit(f"回收数量 {result.total} 与卡片数 {n} 不符")


if __name__ == "__main__":
    sys.exit(main())
