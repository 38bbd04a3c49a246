"""`shebao ecard <子命令>`: the card centre's e-card operations and checks.

    shebao ecard keys                               current and previous public keys:
                                                    "<kid> <uncompressed point hex>" per line
    shebao ecard rotate-keys                        a new current signing key
    shebao ecard qr --card CARD_NUMBER --out FILE.png
                                                    issues the e-card if needed (no SMS step:
                                                    the operator's own act, audited), writes a
                                                    fresh QR PNG and prints the QR text
    shebao ecard redeem TEXT                        redeems as the card centre's own counter
                                                    terminal; JSON {ok, code, message, holder}
    shebao ecard verify TEXT                        offline check only; JSON {ok, code, …}
    shebao ecard purge                              deletes QR codes and business tokens
                                                    expired over a day ago (the worker does
                                                    it hourly); prints the counts as JSON

`redeem` and `verify` print JSON and exit 0 when ok, 1 when the code is refused.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.accounts.choices import Purpose
from shebao.ecard.services.common import CARD_CENTRE_TERMINAL, QrRefused
from shebao.ecard.services.ecards import ecard_issue_by_operator
from shebao.ecard.services.keys import keys_published, keys_rotate
from shebao.ecard.services.purge import qr_codes_purge
from shebao.ecard.services.qr import qr_issue, qr_png, qr_redeem, qr_verify
from shebao.errors import ShebaoError

OPERATOR = "shebao ecard"


class Command(BaseCommand):
    help = (
        "电子社保卡。子命令：keys 列出平台签名公钥；rotate-keys 更换签名密钥；qr 签发并生成二维码；"
        "redeem 以制卡中心柜台终端核验二维码；verify 离线校验二维码；purge 清理过期二维码和业务令牌"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", metavar="子命令", required=True)
        called = getattr(parser, "called_from_command_line", None)
        sub.add_parser(
            "keys", help="列出当前和上一把签名公钥（kid 与未压缩公钥点，十六进制）",
            called_from_command_line=called,
        )  # fmt: skip
        sub.add_parser("rotate-keys", help="生成新的签名密钥", called_from_command_line=called)
        qr = sub.add_parser(
            "qr", help="签发电子社保卡（如需要）并生成二维码", called_from_command_line=called
        )
        qr.add_argument("--card", required=True, metavar="CARD_NUMBER", help="社会保障卡号")
        qr.add_argument("--out", required=True, type=Path, metavar="FILE.png", help="二维码图片")
        redeem = sub.add_parser(
            "redeem", help="以制卡中心柜台终端核验二维码", called_from_command_line=called
        )
        redeem.add_argument("text", metavar="TEXT", help="二维码内容（SBK1:…）")
        verify = sub.add_parser("verify", help="离线校验二维码", called_from_command_line=called)
        verify.add_argument("text", metavar="TEXT", help="二维码内容（SBK1:…）")
        sub.add_parser(
            "purge", help="清理过期一天以上的二维码和业务令牌", called_from_command_line=called
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["subcommand"]
        try:
            if name == "keys":
                for key in keys_published():
                    self.stdout.write(f"{key.kid} {key.public_hex}")
            elif name == "rotate-keys":
                key = keys_rotate()
                self.stdout.write(f"{key.kid} {key.public_hex}")
            elif name == "qr":
                self._qr(options["card"], options["out"])
            elif name == "redeem":
                self._redeem(options["text"])
            elif name == "verify":
                self._verify(options["text"])
            elif name == "purge":
                self.stdout.write(json.dumps(qr_codes_purge().as_dict()))
        except ShebaoError as exc:
            raise CommandError(exc.message) from exc

    def _qr(self, card_number: str, out: Path) -> None:
        ecard = ecard_issue_by_operator(card_number=card_number, actor=None, username=OPERATOR)
        issued = qr_issue(ecard)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(qr_png(issued.text))
        self.stdout.write(issued.text)

    def _json(self, body: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(body, ensure_ascii=False))
        if not body["ok"]:
            self.stdout.flush()
            sys.exit(1)

    def _redeem(self, text: str) -> None:
        try:
            redeemed = qr_redeem(
                text,
                terminal_code=CARD_CENTRE_TERMINAL,
                fields=["masked_name", "masked_id_number"],
                purpose=Purpose.SERVICE_WINDOW.value,
            )
        except QrRefused as exc:
            self._json({"ok": False, "code": exc.code, "message": exc.message})
            return
        self._json(
            {
                "ok": True,
                "code": "OK",
                "message": "核验通过",
                "terminal": CARD_CENTRE_TERMINAL,
                "holder": {
                    "name": redeemed.holder["masked_name"],
                    "id_number": redeemed.holder["masked_id_number"],
                },
                "business_token_expires_at": redeemed.business_token_expires_at.isoformat(),
            }
        )

    def _verify(self, text: str) -> None:
        check = qr_verify(text)
        body: dict[str, Any] = {"ok": check.ok, "code": check.code, "message": check.message}
        if check.claims is not None:
            body["kid"] = check.claims.kid.hex()
            body["issued_at"] = datetime.fromtimestamp(check.claims.issued_at, UTC).isoformat()
            body["expires_at"] = datetime.fromtimestamp(check.claims.expires_at, UTC).isoformat()
        self._json(body)
