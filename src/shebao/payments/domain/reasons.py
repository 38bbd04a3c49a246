"""Why a row of a payment batch cannot be paid: the codes of the file contract.

The order of `Reason` is the order the codes appear in a row's `reasons` (joined by `;`) and
in summaries; other systems rely on the codes, people read the labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final

__all__ = ["REASON_SEPARATOR", "Reason", "join_reasons", "split_reasons"]

REASON_SEPARATOR: Final[str] = ";"


class Reason(StrEnum):
    INVALID_ID = "INVALID_ID"
    NOT_IN_POPULATION = "NOT_IN_POPULATION"
    NAME_MISMATCH = "NAME_MISMATCH"
    DECEASED = "DECEASED"
    IMPRISONED = "IMPRISONED"
    NO_CARD_ACCOUNT = "NO_CARD_ACCOUNT"
    DUPLICATE_IN_BATCH = "DUPLICATE_IN_BATCH"
    ALREADY_PAID = "ALREADY_PAID"
    AMOUNT_INVALID = "AMOUNT_INVALID"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def explanation(self) -> str:
        """One sentence for the clerk: what the code means and what to do about it."""
        return _EXPLANATIONS[self]


_LABELS: Final[dict[Reason, str]] = {
    Reason.INVALID_ID: "身份证号码无效",
    Reason.NOT_IN_POPULATION: "人口库中无此人",
    Reason.NAME_MISMATCH: "姓名与人口库不一致",
    Reason.DECEASED: "已死亡",
    Reason.IMPRISONED: "正在服刑",
    Reason.NO_CARD_ACCOUNT: "无可用社保卡银行账户",
    Reason.DUPLICATE_IN_BATCH: "批次内重复",
    Reason.ALREADY_PAID: "本期已发放",
    Reason.AMOUNT_INVALID: "金额无效",
}
_EXPLANATIONS: Final[dict[Reason, str]] = {
    Reason.INVALID_ID: "社会保障号码（身份证号码）不符合 GB 11643 校验规则，请核对后更正",
    Reason.NOT_IN_POPULATION: "公安人口库中没有该社会保障号码，请核对号码",
    Reason.NAME_MISMATCH: "姓名与人口库登记的姓名不一致（已忽略繁简体、空格和间隔号的差别）",
    Reason.DECEASED: "发放期别首日之前已死亡，不应发放",
    Reason.IMPRISONED: "该项目服刑期间停发，发放期别首日正在服刑",
    Reason.NO_CARD_ACCOUNT: "没有状态为正常或挂失且已开户的社会保障卡，无法发放进卡",
    Reason.DUPLICATE_IN_BATCH: "同一人在本批次前面的行中已出现，只发放第一行",
    Reason.ALREADY_PAID: "同一人、同一项目、同一发放期别已经发放过",
    Reason.AMOUNT_INVALID: "金额为空、不是数字、不大于0、精确到分以下或超过项目上限",
}


def join_reasons(reasons: Iterable[Reason]) -> str:
    """The codes in `Reason` order, each once, joined by `;` ("" for none)."""
    present = set(reasons)
    return REASON_SEPARATOR.join(r.value for r in Reason if r in present)


def split_reasons(text: str) -> tuple[Reason, ...]:
    """The codes of a `reasons` cell; raises ValueError for an unknown code."""
    return tuple(Reason(code) for code in text.split(REASON_SEPARATOR) if code)
