# ruff: noqa: E501 - the corpus is a table of one-line cases, easier to read unwrapped
"""Hostile files for every importer: the fixed corpus and the hypothesis strategies.

Shared by the CI tests (a bounded number of examples) and `bench/fuzz_imports.py` (the long
form, run for N seconds). Every file is small on disk; the bombs are what they expand to.
"""

from __future__ import annotations

import functools
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from hypothesis import strategies as st

__all__ = [
    "Case",
    "csv_cases",
    "csv_texts",
    "encoded_csv",
    "photo_zip_cases",
    "random_bytes",
    "xlsx_cases",
    "xlsx_file",
]

# Headers every importer knows, so that a mutation gets past header detection.
INTAKE_HEADER = "姓名,公民身份号码,性别,出生日期,户籍地址"
APPLICATION_HEADER = "姓名,公民身份号码,性别,民族,出生日期,联系电话"
TARGETS_HEADER = "年度,月份,区划代码,合作银行,指标,目标值"


@dataclass(frozen=True)
class Case:
    label: str
    suffix: str  # .csv / .xlsx / .zip
    make: Callable[[], bytes]


_CT = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
    '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
    '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/'
    'workbook.xml"/></Relationships>'
)
_WB = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WBR = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/'
    'sheet1.xml"/></Relationships>'
)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _column(index: int) -> str:
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def sheet_xml(
    rows: list[list[str]], *, prolog: str = "", tail: str = "", formula: bool = False
) -> str:
    body = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row, start=1):
            ref = f"{_column(c)}{r}"
            if formula and value.startswith("="):
                cells.append(f'<c r="{ref}"><f>{_escape(value[1:])}</f><v>2</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{_escape(value)}</t></is></c>')
        body.append(f'<row r="{r}">{"".join(cells)}</row>')
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="http://schemas.'
        f'openxmlformats.org/spreadsheetml/2006/main"><sheetData>{"".join(body)}</sheetData>'
        f"{tail}</worksheet>"
    )


def xlsx_file(sheet: str | bytes, *, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("[Content_Types].xml", _CT)
        out.writestr("_rels/.rels", _RELS)
        out.writestr("xl/workbook.xml", _WB)
        out.writestr("xl/_rels/workbook.xml.rels", _WBR)
        out.writestr("xl/worksheets/sheet1.xml", sheet)
        for name, data in (extra or {}).items():
            out.writestr(name, data)
    return buffer.getvalue()


@functools.cache
def _deflate_bomb(name: str, prefix: bytes, size: int, suffix: bytes = b"") -> bytes:
    """A ZIP whose one member inflates to `size` bytes, built in well under a second:
    after a full flush a deflate stream restarts on a byte boundary with an empty window,
    so one compressed megabyte of blanks is repeated instead of compressing them all."""

    def flushed(data: bytes, mode: int = zlib.Z_FULL_FLUSH) -> bytes:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        return compressor.compress(data) + compressor.flush(mode)

    block = b" " * (1 << 20)
    count, rest = divmod(size - len(prefix) - len(suffix), len(block))
    packed_block = flushed(block)
    data = b"".join(
        [
            flushed(prefix),
            packed_block * count,
            flushed(b" " * rest),
            flushed(suffix, zlib.Z_FINISH),
        ]
    )
    crc = zlib.crc32(prefix)
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(suffix, zlib.crc32(b" " * rest, crc))
    return _raw_zip([(name, data, crc, size, 8)])


def _raw_zip(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A ZIP from already compressed members: (name, data, crc, uncompressed size, method)."""
    out = io.BytesIO()
    central = []
    for name, data, crc, size, method in members:
        encoded = name.encode()
        offset = out.tell()
        out.write(
            struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(data),
                        size & 0xFFFFFFFF, len(encoded), 0)
        )  # fmt: skip
        out.write(encoded)
        out.write(data)
        central.append(
            struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc, len(data),
                        size & 0xFFFFFFFF, len(encoded), 0, 0, 0, 0, 0, offset) + encoded
        )  # fmt: skip
    start = out.tell()
    for entry in central:
        out.write(entry)
    end = out.tell()
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central),
                          end - start, start, 0))  # fmt: skip
    return out.getvalue()


def _xlsx_bomb() -> bytes:
    """A 1 MB XLSX whose sheet inflates to 1 GB of blanks (calamine held all of it)."""
    sheet = _deflate_bomb(
        "xl/worksheets/sheet1.xml",
        sheet_xml([TARGETS_HEADER.split(",")]).encode().replace(b"</worksheet>", b""),
        1 << 30,
        b"</worksheet>",
    )
    # The bomb's own ZIP plus the other parts: merged by re-reading the members.
    with zipfile.ZipFile(io.BytesIO(xlsx_file(sheet_xml([["x"]])))) as base:
        members = [
            (i.filename, base.read(i.filename))
            for i in base.infolist()
            if "sheet1" not in i.filename
        ]
    extra = []
    for name, data in members:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        packed = compressor.compress(data) + compressor.flush()
        extra.append((name, packed, zlib.crc32(data), len(data), 8))
    with zipfile.ZipFile(io.BytesIO(sheet)) as bomb:
        info = bomb.infolist()[0]
    raw = sheet[30 + len(info.filename) : 30 + len(info.filename) + info.compress_size]
    return _raw_zip([*extra, (info.filename, raw, info.CRC, info.file_size, 8)])


def _billion_laughs() -> str:
    entities = ['<!ENTITY lol "lol">']
    previous = "lol"
    for i in range(1, 10):
        entities.append(f'<!ENTITY lol{i} "{("&" + previous + ";") * 10}">')
        previous = f"lol{i}"
    return f"<!DOCTYPE lolz [{''.join(entities)}]>"


def _far_cell(header: str) -> bytes:
    """Two cells, at A1 and XFD1048576: calamine allocates the 17-billion-cell range and the
    process aborts (seen before the guard)."""
    rows = header.split(",")
    sheet = sheet_xml([rows]).replace(
        "</sheetData>",
        '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>y</t></is></c></row></sheetData>',
    )
    return xlsx_file(sheet)


def _no_sheets() -> bytes:
    """A workbook that lists no sheet (cards' reader asserted there was one: a 500)."""
    out = io.BytesIO()
    source = io.BytesIO(xlsx_file(sheet_xml([["x"]])))
    with zipfile.ZipFile(source) as base, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in base.infolist():
            data = base.read(info.filename)
            if info.filename == "xl/workbook.xml":
                data = re.sub(rb"<sheets>.*</sheets>", b"<sheets></sheets>", data)
            copy.writestr(info.filename, data)
    return out.getvalue()


def xlsx_cases(header: str) -> list[Case]:
    head = header.split(",")
    good = xlsx_file(
        sheet_xml([head, ["张三", "110101199003077777", "男", "1990-03-07", "x"][: len(head)]])
    )
    return [
        Case("xlsx-empty-file", ".xlsx", lambda: b""),
        Case("xlsx-header-only", ".xlsx", lambda: xlsx_file(sheet_xml([head]))),
        Case("xlsx-no-rows", ".xlsx", lambda: xlsx_file(sheet_xml([]))),
        Case("xlsx-no-sheets", ".xlsx", _no_sheets),
        Case("xlsx-truncated-half", ".xlsx", lambda: good[: len(good) // 2]),
        Case("xlsx-truncated-tail", ".xlsx", lambda: good[:-30]),
        Case("xlsx-not-a-zip", ".xlsx", lambda: header.encode()),
        Case("xlsx-zip-bomb-1gb", ".xlsx", _xlsx_bomb),
        Case("xlsx-billion-laughs", ".xlsx",
             lambda: xlsx_file(sheet_xml([head, ["&lol9;"]], prolog=_billion_laughs())
                               .replace("&amp;lol9;", "&lol9;"))),
        Case("xlsx-deep-nesting", ".xlsx",
             lambda: xlsx_file(sheet_xml([head], tail="<a>" * 100_000 + "</a>" * 100_000))),
        Case("xlsx-far-cell-xfd1048576", ".xlsx", lambda: _far_cell(header)),
        Case("xlsx-16384-columns", ".xlsx",
             lambda: xlsx_file(sheet_xml([head + [f"h{i}" for i in range(16_384 - len(head))]]))),
        Case("xlsx-10mb-cell", ".xlsx",
             lambda: xlsx_file(sheet_xml([head, ["张" * (10 << 20)] + ["x"] * (len(head) - 1)]))),
        Case("xlsx-formulas", ".xlsx",
             lambda: xlsx_file(sheet_xml(
                 [head, ["=1+1", '=HYPERLINK("http://evil.example","点我")',
                         "=cmd|' /C calc'!A0", "@SUM(A1)", "+1-1"][: len(head)]],
                 formula=True))),
    ]  # fmt: skip


def csv_cases(header: str) -> list[Case]:
    row = "张三,110101199003077777,男,1990-03-07,北京"
    width = len(header.split(","))
    row = ",".join(row.split(",")[:width] + ["x"] * max(0, width - 5))
    return [
        Case("csv-empty", ".csv", lambda: b""),
        Case("csv-blank-lines", ".csv", lambda: b"\r\n\r\n  \r\n"),
        Case("csv-header-only", ".csv", lambda: header.encode()),
        Case("csv-bom-utf8", ".csv", lambda: b"\xef\xbb\xbf" + f"{header}\n{row}\n".encode()),
        Case("csv-gbk", ".csv", lambda: f"{header}\n{row}\n".encode("gbk")),
        Case("csv-utf16-bom", ".csv", lambda: f"{header}\n{row}\n".encode("utf-16")),
        Case("csv-utf16-no-bom", ".csv", lambda: f"{header}\n{row}\n".encode("utf-16-le")),
        Case("csv-mixed-utf8-gbk", ".csv",
             lambda: f"{header}\n{row}\n".encode() + "李四,1,女,2000-01-01,湖南\n".encode("gbk")),
        Case("csv-nul-bytes", ".csv", lambda: f"{header}\n{row}\n".encode().replace(b",", b"\x00,")),
        Case("csv-open-quote", ".csv", lambda: f'{header}\n"{row}\n{row}\n'.encode() * 3),
        Case("csv-open-quote-long", ".csv",
             lambda: (f'{header}\n"张三' + ("," + "x" * 100) * 2_000 + "\n").encode()),
        Case("csv-10mb-cell", ".csv", lambda: f"{header}\n{'张' * (10 << 20)},1,男,2000-01-01,x\n".encode()),
        Case("csv-million-columns", ".csv", lambda: (header + ",h" * 1_000_000 + "\n" + row + "\n").encode()),
        Case("csv-formulas", ".csv",
             lambda: f"{header}\n=1+1,=HYPERLINK(\"http://evil\"),=cmd|' /C calc'!A0,@SUM(A1),+1\n".encode()),
        Case("csv-only-delimiters", ".csv", lambda: b",,,,\n,,,,\n"),
        Case("csv-ragged", ".csv", lambda: f"{header}\n{row},extra,extra\n1\n".encode()),
    ]  # fmt: skip


def _jpeg_header(width: int, height: int) -> bytes:
    """A JPEG start (SOI, SOF0) claiming width × height, with no image data."""
    sof = struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8\xff\xc0" + sof + b"\xff\xd9"


def photo_zip_cases() -> list[Case]:
    def zipped(entries: dict[str, bytes]) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
            for name, data in entries.items():
                out.writestr(name, data)
        return buffer.getvalue()

    return [
        Case("zip-empty-file", ".zip", lambda: b""),
        Case("zip-not-a-zip", ".zip", lambda: b"PK\x03\x04garbage"),
        Case(
            "zip-text-as-jpeg", ".zip", lambda: zipped({"110101199003077777.jpg": b"not an image"})
        ),
        Case(
            "zip-png-as-jpeg",
            ".zip",
            lambda: zipped({"110101199003077777.jpg": b"\x89PNG\r\n\x1a\n" + b"\x00" * 100}),
        ),
        Case(
            "zip-decompression-bomb-image-100000x100000",
            ".zip",
            lambda: zipped({"110101199003077777.jpg": _jpeg_header(65_000, 65_000)}),
        ),
        Case(
            "zip-member-bomb-256mb",
            ".zip",
            lambda: _deflate_bomb("110101199003077777.jpg", b"\xff\xd8", 256 << 20),
        ),
        Case("zip-lying-size", ".zip", lambda: _lying_zip()),
        Case(
            "zip-truncated",
            ".zip",
            lambda: zipped({"110101199003077777.jpg": _jpeg_header(358, 441)})[:-10],
        ),
    ]


def _lying_zip() -> bytes:
    """A member that declares 10 KB and inflates to 64 MB (read whole by the fast path)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = compressor.compress(b"\xff\xd8" + b"\x00" * (64 << 20)) + compressor.flush()
    return _raw_zip([("110101199003077777.jpg", data, 0, 10_240, 8)])


# --- hypothesis strategies -----------------------------------------------------------------

random_bytes = st.binary(min_size=0, max_size=4096)

_cell = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["=1+1", "=cmd|' /C calc'!A0", "@SUM(A1)", "\ufeff", "\x00", '"', "\r\n",
                     "110101199003077777", "2024-13-45", "-1", "１２３"]),
)  # fmt: skip


def csv_texts(header: str) -> st.SearchStrategy[str]:
    rows = st.lists(st.lists(_cell, min_size=0, max_size=8), max_size=12)
    separators = st.sampled_from([",", "\t", ";", "|"])

    def render(data: tuple[list[list[str]], str, bool]) -> str:
        body, sep, keep_header = data
        lines = ([header.replace(",", sep)] if keep_header else []) + [sep.join(r) for r in body]
        return "\n".join(lines)

    return st.tuples(rows, separators, st.booleans()).map(render)


def encoded_csv(header: str) -> st.SearchStrategy[bytes]:
    def encode(data: tuple[str, str, bool]) -> bytes:
        text, encoding, cut = data
        raw = text.encode(encoding, errors="replace")
        return raw[: max(0, len(raw) - 1)] if cut else raw

    encodings = st.sampled_from(["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "utf-16-le"])
    return st.tuples(csv_texts(header), encodings, st.booleans()).map(encode)


def xlsx_from_rows(header: str) -> st.SearchStrategy[bytes]:
    rows = st.lists(st.lists(_cell, max_size=8), max_size=8)
    return rows.map(lambda body: xlsx_file(sheet_xml([header.split(","), *body], formula=True)))


def mutated(data: bytes) -> st.SearchStrategy[bytes]:
    """`data` with a few bytes flipped, cut or inserted: a damaged file of the right kind."""

    def mutate(edits: list[tuple[int, int, int]]) -> bytes:
        out = bytearray(data)
        for kind, where, value in edits:
            if not out:
                break
            where %= len(out)
            if kind == 0:
                out[where] = value
            elif kind == 1:
                del out[where:]
            else:
                out[where:where] = bytes([value])
        return bytes(out)

    edit = st.tuples(st.integers(0, 2), st.integers(0, 1 << 30), st.integers(0, 255))
    return st.lists(edit, min_size=1, max_size=4).map(mutate)


def all_cases(header: str) -> Iterator[Case]:
    yield from csv_cases(header)
    yield from xlsx_cases(header)
