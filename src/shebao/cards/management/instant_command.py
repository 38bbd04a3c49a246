"""`shebao cards instant-issue`: 即时制卡 at a bank branch from the command line (a branch's
own system, or trying it on the demo), acting as a named bank clerk:

    shebao cards instant-issue --user 用户名 --id-number 身份证号 --name 姓名 --phone 电话
        --account 银行账号 (--photo 照片.jpg | --police-photo)

`cards.py` registers it with `add_instant_subcommand` and hands over with `handle_instant`;
the work is `cards.services.instant.application_instant_issue`, as on the page and the API.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from shebao.errors import ShebaoError

NAME = "instant-issue"


def add_instant_subcommand(subcommands: Any, parser: Any) -> None:
    sub = subcommands.add_parser(
        NAME,
        help="银行网点即时制卡",
        description="合作银行网点现场申领、即时制卡：按制卡条件检查申领人（姓名须与人口库一致），"
        "符合条件的当场制卡发放并记录本行开立的银行账号；不符合条件的登记原因，不制卡。",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        called_from_command_line=getattr(parser, "called_from_command_line", None),
    )
    sub.add_argument("--user", required=True, metavar="用户名", help="办理的银行网点经办人员账号")
    sub.add_argument("--id-number", required=True, metavar="身份证号", help="申领人身份证号码")
    sub.add_argument("--name", required=True, metavar="姓名", help="申领人姓名（按身份证件）")
    sub.add_argument("--phone", required=True, metavar="电话", help="申领人联系电话")
    sub.add_argument("--account", required=True, metavar="账号", help="本行开立的银行账号")
    photo = sub.add_mutually_exclusive_group(required=True)
    photo.add_argument("--photo", type=Path, metavar="FILE", help="申领人照片（JPEG）")
    photo.add_argument("--police-photo", action="store_true", help="使用公安部门的身份证照片")


def handle_instant(command: BaseCommand, options: dict[str, Any]) -> None:
    from shebao.accounts.models import User
    from shebao.cards.services.applications import CounterInput
    from shebao.cards.services.instant import application_instant_issue

    user = (
        User.objects.select_related("organisation")
        .filter(username=options["user"], is_active=True)
        .first()
    )
    if user is None:
        raise CommandError(f"没有启用的用户“{options['user']}”")
    photo: bytes | None = None
    if options["photo"] is not None:
        try:
            photo = Path(options["photo"]).read_bytes()
        except OSError as exc:
            raise CommandError(f"无法读取照片文件 {options['photo']}：{exc.strerror}") from exc
    try:
        app = application_instant_issue(
            actor=user,
            data=CounterInput(
                id_number=options["id_number"],
                name=options["name"],
                bank_id=None,
                phone=options["phone"],
                photo=photo,
                use_police_photo=bool(options["police_photo"]),
            ),
            account_number=options["account"],
        )
    except ShebaoError as exc:
        raise CommandError(f"{exc.message}（{exc.code}）") from exc
    if app.card is not None:
        command.stdout.write(f"已即时制卡并发放：卡号 {app.card.card_number}（申领记录 {app.pk}）")
    else:
        raise CommandError(f"不符合制卡条件，未制卡：{app.messages}（申领记录 {app.pk}）")
