"""`shebao payments check`: the file contract other systems depend on, run as they run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.unit.payments.world import World, id_number

pytestmark = pytest.mark.integration


@pytest.fixture
def world() -> World:
    """One row for each reason, a payable row and a row with several reasons."""
    w = World()
    ok = w.person(1)
    mismatch = w.person(2, "李四")
    dead = w.person(3, "王五", status="死亡", death_date="2026-01-31")
    jailed = w.person(4, "赵六")
    no_account = w.person(5, "钱七", card=("正常", "未开户"))
    paid = w.person(6, "孙八")
    w.prison.append([jailed, "赵六", "2025-06-01", "2027-05-31"])
    w.paid.append([paid, "高龄津贴", "2026-03", "300.00"])
    w.pay(ok, "张三", "1,234.50")
    w.pay(ok[:17] + ("0" if ok[17] != "0" else "1"), "张三", "100")
    w.pay(id_number(99), "周九", "100")
    w.pay(mismatch, "李思", "100")
    w.pay(dead, "王五", "100")
    w.pay(jailed, "赵六", "100")
    w.pay(no_account, "钱七", "100")
    w.pay(ok, "张三", "100")
    w.pay(paid, "孙八", "100")
    w.pay(w.person(7, "吴十"), "吴十", "3000.01")
    w.pay(dead, "王武", "abc")
    return w


def _command(files: dict[str, Path], programme: Path, out: Path) -> list[str]:
    return [
        "check",
        "--population",
        str(files["population"]),
        "--cards",
        str(files["cards"]),
        "--batch",
        str(files["batch"]),
        "--programme",
        str(programme),
        "--period",
        "2026-03",
        "--deaths",
        str(files["deaths"]),
        "--prison",
        str(files["prison"]),
        "--paid",
        str(files["paid"]),
        "--as-of",
        "2026-03-15",
        "--out",
        str(out),
    ]


def _programme(tmp_path: Path) -> Path:
    path = tmp_path / "高龄津贴.toml"
    path.write_text(
        'name = "高龄津贴"\nstops_in_prison = true\nmax_amount = 3000.00\n', encoding="utf-8"
    )
    return path


def test_the_console_command_writes_the_contract(world: World, tmp_path: Path) -> None:
    files = world.files(tmp_path)
    out = tmp_path / "out"
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "shebao", "payments", *_command(files, _programme(tmp_path), out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "共 11 行：可发放 1 行，合计 1,234.50 元；不可发放 10 行" in done.stdout

    ok, bad = id_number(1), id_number(1)[:17] + ("0" if id_number(1)[17] != "0" else "1")
    expected = f"""row,id_number,name,amount_fen,payable,reasons
1,{ok},张三,123450,1,
2,{bad},张三,10000,0,INVALID_ID;NOT_IN_POPULATION;NO_CARD_ACCOUNT
3,{id_number(99)},周九,10000,0,NOT_IN_POPULATION;NO_CARD_ACCOUNT
4,{id_number(2)},李思,10000,0,NAME_MISMATCH
5,{id_number(3)},王五,10000,0,DECEASED
6,{id_number(4)},赵六,10000,0,IMPRISONED
7,{id_number(5)},钱七,10000,0,NO_CARD_ACCOUNT
8,{ok},张三,10000,0,DUPLICATE_IN_BATCH
9,{id_number(6)},孙八,10000,0,ALREADY_PAID
10,{id_number(7)},吴十,,0,AMOUNT_INVALID
11,{id_number(3)},王武,,0,NAME_MISMATCH;DECEASED;DUPLICATE_IN_BATCH;AMOUNT_INVALID
"""
    assert (out / "payments.csv").read_text(encoding="utf-8") == expected
    counts = {
        "INVALID_ID": 1,
        "NOT_IN_POPULATION": 2,
        "NAME_MISMATCH": 2,
        "DECEASED": 2,
        "IMPRISONED": 1,
        "NO_CARD_ACCOUNT": 3,
        "DUPLICATE_IN_BATCH": 2,
        "ALREADY_PAID": 1,
        "AMOUNT_INVALID": 2,
    }
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == {
        "rows": 11,
        "payable_rows": 1,
        "payable_fen": 123450,
        **counts,
        "reasons": counts,
    }


def test_bad_input_exits_1_with_a_chinese_message_and_writes_nothing(
    world: World, tmp_path: Path
) -> None:
    files = world.files(tmp_path)
    files["cards"].write_text("社会保障号码,卡号,卡状态\n1,2,正常\n", encoding="utf-8")
    out = tmp_path / "out"
    base = [sys.executable, "-m", "shebao", "payments"]
    done = subprocess.run(  # noqa: S603
        [*base, *_command(files, _programme(tmp_path), out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "持卡文件（cards.csv）" in done.stderr
    assert "开户状态" in done.stderr
    assert not out.exists()

    files = world.files(tmp_path)
    arguments = _command(files, _programme(tmp_path), out)
    arguments[arguments.index("--period") + 1] = "2026-13"
    done = subprocess.run([*base, *arguments], capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 1
    assert "发放期别“2026-13”不是有效的年月" in done.stderr
    assert not out.exists()


def test_a_configured_programme_by_name(world: World, tmp_path: Path) -> None:
    files = world.files(tmp_path)
    arguments = _command(files, Path("工伤保险待遇"), tmp_path / "out")
    call_command("payments", *arguments)
    lines = (tmp_path / "out" / "payments.csv").read_text(encoding="utf-8").splitlines()
    # Work injury benefits do not stop in prison, and the earlier payment was another programme.
    assert lines[6].endswith(",1,")
    assert lines[9].endswith(",1,")
    with pytest.raises(CommandError, match="未知的发放项目"):
        call_command("payments", *_command(files, Path("不存在的项目"), tmp_path / "out2"))
