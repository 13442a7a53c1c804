"""The one reader of the files a department keeps (domain/input_files.py, issue 23 #9): every
encoding Chinese Excel saves, English or Chinese headings, dates and money as people type them,
ambiguous numbers refused with file, row and column, and every problem listed at once."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from domain import input_files as files
from domain.input_files import Column, InputFileError, read_records
from domain.settlement_inputs import ROSTER_COLUMNS

COLUMNS = [Column("sku", "商品编码", files.text, aliases=("SKU",)),
           Column("qty", "数量", files.count),
           Column("cost", "成本价(元)", files.money, optional=True),
           Column("on", "日期", files.day, optional=True)]
ROWS = "sku,qty,cost,on\nA-1,3,\"¥1,200.00\",2025/01/01\n"
ZH_ROWS = "商品编码,数量,成本价（元）,日期\nA-1,3,￥1200元,2025年1月1日\n"
EXPECTED = {2: {"sku": "A-1", "qty": 3, "cost": 120000, "on": date(2025, 1, 1)}}


def load(path, columns=COLUMNS):
    rows, source = read_records(path, columns)
    source.raise_problems()
    return rows


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
@pytest.mark.parametrize("content", [ROWS, ZH_ROWS], ids=["english-headings", "chinese-headings"])
def test_csv_in_every_encoding_with_either_headings(tmp_path, encoding, content):
    path = tmp_path / "items.csv"
    if encoding == "gbk":
        content = content.replace("¥", "￥")    # GBK has only the full-width yuan sign, as Chinese Excel types it
    path.write_bytes(content.encode(encoding))
    assert load(path) == EXPECTED


def test_xlsx_with_chinese_headings_and_typed_cells(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["SKU", "数量", "成本价(元)", "日期", "备注"])       # an extra column is ignored
    book.active.append([1001, 3.0, 1200, date(2025, 1, 1), "随便"])
    book.save(tmp_path / "items.xlsx")
    assert load(tmp_path / "items.xlsx") == {2: {"sku": "1001", "qty": 3, "cost": 120000, "on": date(2025, 1, 1)}}


@pytest.mark.parametrize("typed, expected", [
    ("2025-01-01", date(2025, 1, 1)), ("2025/01/01", date(2025, 1, 1)), ("2025/1/1", date(2025, 1, 1)),
    ("2025.01.31", date(2025, 1, 31)), ("2025年1月1日", date(2025, 1, 1)), ("2025/01/01 00:00:00", date(2025, 1, 1))])
def test_dates_as_people_type_them(typed, expected):
    assert files.day(typed) == expected


@pytest.mark.parametrize("typed", ["01/02/2025", "2025/13/01", "2025/02/30", "tomorrow"])
def test_dates_that_are_not_dates(typed):
    with pytest.raises(ValueError, match="is not a date written YYYY-MM-DD"):
        files.day(typed)


@pytest.mark.parametrize("typed, fen", [("1200", 120000), ("1,200.00", 120000), ("¥1,200.00", 120000),
                                        ("￥1,200.50", 120050), ("1200元", 120000), ("RMB 12.5", 1250),
                                        ("1,234,567.89", 123456789), (12.5, 1250), ("0", 0)])
def test_money_in_yuan_as_people_type_it(typed, fen):
    assert files.money(typed) == fen


def test_money_refuses_a_third_decimal_and_negative_amounts():
    with pytest.raises(ValueError, match="more than 2 decimals"):
        files.money("¥12.345")
    with pytest.raises(ValueError, match="must be 0 or more"):
        files.money("-5")


@pytest.mark.parametrize("typed", ["12,00", "1,2000", "1,200,00", "¥12,00"])
def test_a_comma_that_is_not_a_thousands_separator_is_ambiguous(typed):
    with pytest.raises(ValueError, match="ambiguous: a comma is a thousands separator only"):
        files.money(typed)


@pytest.mark.parametrize("typed", ["1e5", "1E+05", "2.5e3"])
def test_scientific_notation_is_ambiguous(typed):
    with pytest.raises(ValueError, match="ambiguous: scientific notation"):
        files.number(typed)


def test_months_and_chinese_choices():
    assert [files.month(v) for v in ("2026-10", "2026/10", "2026年10月", date(2026, 10, 1))] == ["2026-10"] * 4
    role = files.one_of(("manager", "operations"), {"店长": "manager", "运营": "operations"})
    assert [role(v) for v in ("店长", "运营", "Manager")] == ["manager", "operations", "manager"]
    with pytest.raises(ValueError, match=r"'老板' is not one of manager \(店长\), operations \(运营\)"):
        role("老板")


def test_every_refused_row_is_listed_with_file_row_and_column(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("sku,qty,cost,on\nA-1,3,12,2025/01/01\nA-2,\"12,00\",1,2025/01/02\n\nA-3,1e5,1,2025/01/03\n"
                    "A-4,2,\"¥3,5\",2025/02/30\n", encoding="utf-8")
    with pytest.raises(InputFileError) as refused:
        load(path)
    problems = [str(p) for p in refused.value.problems]
    assert problems[0] == ("items.csv: row 3, column qty: '12,00' is ambiguous: a comma is a thousands separator only "
                           "between groups of three digits (1,200.00); write a decimal point for decimals (12.00)")
    assert problems[1].startswith("items.csv: row 5, column qty: '1e5' is ambiguous: scientific notation")  # row 4 empty
    assert [p.split(":")[1].strip() for p in problems[2:]] == ["row 6, column cost", "row 6, column on"]
    assert "nothing was stored" in str(refused.value)


def test_file_level_problems(tmp_path):
    cases = {"empty.csv": b"", "bad.csv": b"sku,qty\n\xff\xfe,1\n", "ragged.csv": b"sku,qty\nA,1\nB,2,extra\n",
             "corrupt.xlsx": b"PK\x03\x04 not a workbook", "notes.txt": b"sku,qty\n"}
    said = {}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        _, source = read_records(tmp_path / name, COLUMNS[:2])
        said[name] = str(source.problems[0])
    assert said == {
        "empty.csv": "empty.csv: the file is empty (expected a header row)",
        "bad.csv": "bad.csv: not text in UTF-8 or GBK (byte 0xff at position 8); save the file as CSV UTF-8",
        "ragged.csv": "ragged.csv: row 3: 3 fields, the header has 2; check the commas of that row",
        "corrupt.xlsx": said["corrupt.xlsx"],
        "notes.txt": "notes.txt: unsupported file type '.txt'; use .csv or .xlsx"}
    assert said["corrupt.xlsx"].startswith("corrupt.xlsx: not a readable Excel workbook")


def test_a_missing_column_names_both_headings(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("商品编码,备注\nA,1\n", encoding="utf-8")
    _, source = read_records(path, COLUMNS)
    assert [str(p) for p in source.problems] == ["items.csv: row 1: no column 'qty' (数量) in the header"]


def test_a_roster_in_chinese_throughout_gbk(tmp_path):
    path = tmp_path / "人员名单.csv"
    path.write_bytes("工号,姓名,岗位,负责店铺,分成比例,入职日期,离职日期\nM1,王芳,店长,,,2025/01/01,\n"
                     "C1,陈静,客服,tmall,,2025年3月1日,\n".encode("gbk"))
    rows = load(path, ROSTER_COLUMNS)
    assert [(r["person_id"], r["role"], r["joined"]) for r in rows.values()] == [
        ("M1", "manager", date(2025, 1, 1)), ("C1", "customer_service", date(2025, 3, 1))]


def test_rates_and_plain_numbers():
    assert files.rate("35.2%") == Decimal("0.352") and files.rate("0.5") == Decimal("0.5")
    assert files.number("1,200") == Decimal(1200) and files.number("-3") == Decimal(-3)
    assert files.count("1,200") == 1200


def _fields(template: str) -> set[str]:
    import string

    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_reason_has_chinese_and_the_same_english_in_the_catalogue():
    """domain/ knows only the English of its reasons (REASONS); shopops/i18n.py has the same
    English and the Chinese, with the same placeholders, for every reason a loader gives."""
    import connectors.file_import  # noqa: F401  (they add their reasons to REASONS)
    import domain.settlement_inputs  # noqa: F401
    from shopops.i18n import MESSAGES

    assert {k: MESSAGES.get(k, {}).get("en") for k in files.REASONS} == files.REASONS
    refusals = {k: v for k, v in MESSAGES.items() if k.startswith("in_")}
    assert files.REASONS.keys() <= refusals.keys()
    assert {k for k, v in refusals.items() if not v.get("zh_CN") or _fields(v["zh_CN"]) != _fields(v["en"])} == set()


def test_a_problem_renders_in_the_persons_language_with_the_heading_as_written(tmp_path):
    from shopops.i18n import translator

    path = tmp_path / "商品.csv"
    path.write_text("商品编码,数量,成本价（元）\nA-1,3,\"12,00\"\nA-1,-2,5\n", encoding="utf-8")
    _, source = read_records(path, COLUMNS)
    source.refuse_duplicates({2: ("A-1",), 3: ("A-1",)}, ("sku",))
    with pytest.raises(InputFileError) as refused:
        source.raise_problems()
    chinese = refused.value.render(translator("zh_CN"))
    assert chinese.splitlines() == [
        "文件有 3 处问题：",
        "  - 商品.csv：第 2 行“成本价（元）”列：'12,00' 有歧义：逗号只能作千位分隔符，且每组三位（1,200.00）；小数请用小数点（12.00）",
        "  - 商品.csv：第 3 行“数量”列：'-2' 不是大于等于 0 的整数",
        "  - 商品.csv：第 3 行：商品编码（A-1）与第 2 行重复",
        "请修改上面列出的行后重新导入；本次未保存任何内容。"]
    assert refused.value.render(translator("en")) == str(refused.value)  # English: the domain's own text
    assert str(refused.value.problems[1]) == "商品.csv: row 3, column 数量: '-2' is not a whole number of 0 or more"
    assert isinstance(refused.value.problems[0].reason, ValueError)        # callers catching ValueError keep working
