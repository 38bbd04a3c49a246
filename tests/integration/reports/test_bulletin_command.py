"""`shebao bulletin`: the files it writes, the bulletins it keeps, and other levels."""

from __future__ import annotations

import shutil
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook

from shebao.geo.models import Region
from shebao.reports.documents import chromium_path
from shebao.reports.models import Bulletin, ReportedFigure
from tests.conftest import require
from tests.factories import make_regions

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

DATA = Path(__file__).parent / "data"
SUMMARY = "截止7月底，全省累计上报开户数据1855万人，完成年数据采集目标任务的87.3%"


@pytest.fixture
def seed(hunan: dict[str, Region]) -> None:
    call_command("targets", "import", str(DATA / "hunan_2014_07_targets.csv"), stdout=StringIO())
    call_command("figures", "import", str(DATA / "hunan_2014_07_figures.csv"), stdout=StringIO())


def bulletin(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("bulletin", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def hunan_bulletin(fmt: str, out: Path) -> str:
    stdout, _ = bulletin("--month=2014-07", "--region=430000", f"--format={fmt}", f"--out={out}")
    return stdout


def test_text_goes_to_stdout_without_out(seed: None) -> None:
    stdout, stderr = bulletin("--month=2014-07", "--region=430000")
    assert stdout.startswith("社会保障卡建设工作进展情况通报\n湖南省  2014年7月\n")
    assert SUMMARY in stdout
    assert "已生成通报" in stderr
    assert Bulletin.objects.get().format == "text"


def test_xlsx_has_both_attachment_tables_with_exact_counts(seed: None, tmp_path: Path) -> None:
    path = tmp_path / "bulletin.xlsx"
    hunan_bulletin("xlsx", path)
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["附表一", "附表二", "通报正文"]
    regions = workbook["附表一"]
    assert regions["A1"].value == "附表一  2014年7月份社会保障卡数据采集和开户进展情况统计表"
    assert [c.value for c in regions[2]] == [
        "序号",
        "市州",
        "全年数据采集目标（人）",
        "月数据采集目标（人）",
        "累计上报开户数据（人）",
        "较上月新增（人）",
        "完成全年目标",
        "完成月目标",
        "累计制卡（张）",
    ]
    rows = {row[1]: row for row in regions.iter_rows(min_row=3, values_only=True)}
    assert rows["永州市"][2:7] == (2_006_000, 1_746_000, 3_250_000, 150_000, 162.0)
    assert rows["合计"][4] == 18_550_000
    assert rows["合计"][6:8] == (87.3, 101.5)
    assert regions.cell(3, 7).number_format == '0.0"%"'
    banks = {row[1]: row for row in workbook["附表二"].iter_rows(min_row=3, values_only=True)}
    assert banks["农业银行"][2:] == (5_980_000, 5_110_000, 870_000, 85.5)
    assert any(
        SUMMARY in (row[0] or "") for row in workbook["通报正文"].iter_rows(values_only=True)
    )


def test_docx_names_an_east_asian_font_everywhere(seed: None, tmp_path: Path) -> None:
    path = tmp_path / "bulletin.docx"
    hunan_bulletin("docx", path)
    doc = Document(str(path))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert SUMMARY in text
    assert "农信社联社累计接受开户数据817万人，完成开户697万人，完成率为85.3%" in text
    runs = [r for p in doc.paragraphs for r in p.runs]
    runs += [
        r
        for t in doc.tables
        for row in t.rows
        for c in row.cells
        for p in c.paragraphs
        for r in p.runs
    ]
    assert runs
    for run in runs:
        fonts = run.element.rPr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:eastAsia")) in {"SimSun", "SimHei"}, run.text
    normal = doc.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert normal.get(qn("w:eastAsia")) == "SimSun"
    regions, banks = doc.tables
    assert [c.text for c in regions.rows[11].cells][:2] == ["11", "永州市"]
    assert [c.text for c in banks.rows[1].cells][-1] == "85.5%"


def test_docx_renders_with_chinese_glyphs(seed: None, tmp_path: Path) -> None:
    soffice = shutil.which("soffice")
    require(
        soffice is not None and shutil.which("pdftotext") is not None,
        "LibreOffice (soffice) and pdftotext render the DOCX; not installed here",
    )
    assert soffice is not None
    path = tmp_path / "bulletin.docx"
    hunan_bulletin("docx", path)
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            soffice,
            "--headless",
            f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = (tmp_path / "bulletin.pdf").read_bytes()
    assert b"CJK" in pdf  # the glyphs come from a CJK font, not boxes from a Latin one
    assert "累计完成制卡1168" in _pdf_text(tmp_path / "bulletin.pdf").replace(" ", "")


def _pdf_text(path: Path) -> str:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext is not None
    done = subprocess.run(  # noqa: S603 - fixed arguments
        [pdftotext, "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True
    )
    return done.stdout.decode("utf-8")


def test_pdf_is_printed_with_embedded_cjk_fonts(seed: None, tmp_path: Path) -> None:
    require(chromium_path() is not None, "Chromium prints the PDF; not installed here")
    path = tmp_path / "bulletin.pdf"
    hunan_bulletin("pdf", path)
    pdf = path.read_bytes()
    assert pdf.startswith(b"%PDF")
    assert b"NotoSerifCJK" in pdf or b"NotoSansCJK" in pdf
    if shutil.which("pdftotext"):
        text = _pdf_text(path).replace("\n", "")
        assert "社会保障卡建设工作进展情况通报" in text
        assert "完成率为85.5%" in text


def test_pdf_is_refused_rather_than_faked_without_chromium(
    seed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHEBAO_CHROMIUM", str(tmp_path / "no-such-browser"))
    with pytest.raises(CommandError, match="暂不支持PDF，请使用docx") as raised:
        hunan_bulletin("pdf", tmp_path / "bulletin.pdf")
    assert raised.value.returncode == 1
    assert not Bulletin.objects.exists()


def test_a_published_bulletin_is_not_changed_by_a_later_correction(
    seed: None, tmp_path: Path
) -> None:
    first_path = tmp_path / "first.txt"
    hunan_bulletin("text", first_path)
    first = Bulletin.objects.get()
    published = (first.snapshot, first.text, first.figures_sha256)

    # 永州 corrects its July figure upward by 20万.
    ReportedFigure.objects.filter(
        year=2014, month=7, region_id="431100", metric="submitted"
    ).update(value=3_450_000)
    again = hunan_bulletin("text", tmp_path / "second.txt")
    assert "（已有更正）" in again and f"通报 {first.pk} 不同" in again
    assert "全省累计上报开户数据1875万人" in (tmp_path / "second.txt").read_text(encoding="utf-8")

    # Generating the same figures again is not flagged as a correction.
    third = hunan_bulletin("text", tmp_path / "third.txt")
    assert "更正" not in third

    first.refresh_from_db()
    assert (first.snapshot, first.text, first.figures_sha256) == published
    # The published bulletin can be produced again from what it was computed from.
    reissued = tmp_path / "reissued.txt"
    bulletin(f"--reissue={first.pk}", "--format=text", f"--out={reissued}")
    assert reissued.read_text(encoding="utf-8") == first_path.read_text(encoding="utf-8")


def write_csv(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_city_bulletin_rolls_districts_up_from_towns(db: None, tmp_path: Path) -> None:
    make_regions()  # 湖北省 → 鄂州市 → 梁子湖区, 鄂城区 → towns
    call_command(
        "targets",
        "import",
        str(
            write_csv(
                tmp_path / "targets.csv",
                "年度,月份,区划代码,合作银行,指标,目标值",
                "2016,,420702,,上报开户数据,100000",
                "2016,,420704,,上报开户数据,300000",
                "2016,3,420702,,上报开户数据,50000",
                "2016,3,420704,,上报开户数据,150000",
            )
        ),
        stdout=StringIO(),
    )
    call_command(
        "figures",
        "import",
        str(
            write_csv(
                tmp_path / "figures.csv",
                "统计月份,区划代码,合作银行,指标,累计值",
                # 梁子湖区 reports itself; 鄂城区 only through its town.
                "2016-03,420702,,上报开户数据,120000",
                "2016-02,420702,,上报开户数据,20000",
                "2016-03,420704001,,上报开户数据,90000",
                "2016-02,420704001,,上报开户数据,80000",
                "2016-03,420700,工商银行,接收开户数据,200000",
                "2016-03,420700,工商银行,完成开户,150000",
            )
        ),
        stdout=StringIO(),
    )
    city, _ = bulletin("--month=2016-03", "--region=420700")
    assert (
        "截止3月底，全市累计上报开户数据21万人，完成年数据采集目标任务的52.5%，"
        "完成月数据采集目标任务的105.0%（详见附表一）。" in city
    )
    assert "已提前完成全年数据采集目标任务的县市区有1个：梁子湖区（完成全年目标的120%" in city
    assert (
        "月度新增数据量较多的县市区有：梁子湖区较2月份增加数据10万人、鄂城区较2月份增加数据1万人。"
        in city
    )
    assert "没有完成月数据采集目标任务的县市区有1个：鄂城区只完成了60%。" in city
    assert "工商银行累计接受开户数据20万人，完成开户15万人，完成率为75.0%" in city

    province, _ = bulletin("--month=2016-03", "--region=420000")
    assert "全省累计上报开户数据21万人" in province
    assert "工商银行累计接受开户数据20万人" in province  # the city's bank rows, summed up


def test_errors_are_refused_with_reasons(seed: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="REGION_UNKNOWN"):
        bulletin("--month=2014-07", "--region=439999")
    with pytest.raises(CommandError, match="NO_FIGURES"):
        bulletin("--month=2013-07", "--region=430000")
    with pytest.raises(CommandError, match="2014-07"):
        bulletin("--month=2014-7", "--region=430000")
    with pytest.raises(CommandError, match="--out"):
        bulletin("--month=2014-07", "--region=430000", "--format=docx")
    assert not Bulletin.objects.exists()
