"""The inputs a department keeps (issue 23 #9), through the CLI on a real SQLite warehouse:
`shopops catalogue import`, `po import`, `po receive` and `templates`. Each file is stored whole
or not at all: one refused row stores nothing, and every refused row is listed."""
from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from config.settings import CONFIG_DIR, get_settings
from shopops.cli import app
from warehouse.db import make_engine
from warehouse.models import PurchaseOrder, PurchaseOrderLine, Sku, StockLedgerEntry


@pytest.fixture
def shop(tmp_path, monkeypatch):
    """A copy of config/, an empty data folder with a migrated SQLite warehouse, English messages."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config, ignore=shutil.ignore_patterns("*.py", "__pycache__", "scenarios"))
    for name, value in {"SHOPOPS_DATA_DIR": tmp_path / "data", "SHOPOPS_CONFIG_DIR": config,
                        "SHOPOPS_LOCALE": "en"}.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("SHOPOPS_DATABASE_URL", raising=False)
    assert cli("db", "upgrade").exit_code == 0
    engine = make_engine(get_settings().warehouse_url)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def cli(*args: str):
    get_settings.cache_clear()
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def rows(engine, table, *columns) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(*[table.c[c] for c in columns]).order_by(*table.c))]


def write_xlsx(path, header, *body):
    book = openpyxl.Workbook()
    for row in (header, *body):
        book.active.append(list(row))
    book.save(path)
    return path


def yesterday() -> str:
    return f"{datetime.now(ZoneInfo('Asia/Shanghai')).date() - timedelta(days=1):%Y/%m/%d}"


CATALOGUE_HEADER = ["商品编码", "商品名称", "颜色/尺码", "供应商", "成本价(元)", "箱规", "起订量", "库位", "默认仓库"]


def catalogue(shop, tmp_path):
    path = write_xlsx(tmp_path / "商品档案.xlsx", CATALOGUE_HEADER,
                      ["T-1", "T恤", "白/M", "hz-apparel", "¥1,200.00", None, None, "A-01", "HZ01"],
                      ["T-2", "T恤", "黑/L", None, "35.5", 12, None, None, "HZ01"])
    done = cli("catalogue", "import", path)
    assert done.exit_code == 0, done.output
    return done


def test_catalogue_import_fills_blank_cells_with_defaults(shop, tmp_path):
    done = catalogue(shop, tmp_path)
    assert "商品档案.xlsx: 2 SKU(s) added, 0 updated." in done.output
    # blank case pack / MOQ: the supplier's (hz-apparel 10 / 50), else rules.yaml restock.default_*
    assert rows(shop, Sku.__table__, "sku", "variant", "supplier", "unit_cost_minor", "currency", "case_pack", "moq",
                "bin_location", "lead_time_days") == [
        ("T-1", "白/M", "hz-apparel", 120000, "CNY", 10, 50, "A-01", None),
        ("T-2", "黑/L", None, 3550, "CNY", 12, 1, None, None)]


def test_a_catalogue_with_bad_rows_stores_nothing_and_lists_every_one(shop, tmp_path):
    path = tmp_path / "catalogue.csv"
    path.write_text("sku,name,supplier,case_pack,unit_cost\nOK-1,good,,6,10\nBAD-1,bad,,\"12,00\",10\n"
                    "BAD-2,bad,,1,1e5\nBAD-3,bad,nobody,1,1\n", encoding="utf-8-sig")
    done = cli("catalogue", "import", path)
    assert done.exit_code == 2
    assert "catalogue.csv: 3 problem(s); nothing was stored:" in done.output
    assert "catalogue.csv: row 3, column case_pack: '12,00' is ambiguous" in done.output
    assert "catalogue.csv: row 4, column unit_cost: '1e5' is ambiguous: scientific notation" in done.output
    assert "catalogue.csv: row 5, column supplier: 'nobody' is not a supplier of config/suppliers.yaml" in done.output
    assert rows(shop, Sku.__table__, "sku") == []                   # not even the good row OK-1


PO_HEADER = ["采购单号", "供应商", "仓库", "下单日期", "预计到货日期", "商品编码", "采购数量", "采购单价(元)"]


def purchase_orders(shop, tmp_path):
    catalogue(shop, tmp_path)
    path = write_xlsx(tmp_path / "po.xlsx", PO_HEADER,
                      ["PO-1", "hz-apparel", "HZ01", "2026/11/20", "2026/12/20", "T-1", 100, "¥1,200.00"],
                      ["PO-1", "hz-apparel", "HZ01", "2026/11/20", "2026/12/20", "T-2", 40, None])
    done = cli("po", "import", path)
    assert done.exit_code == 0, done.output
    assert "po.xlsx: 1 purchase order(s) with 2 line(s) stored; 0 were already stored as they are." in done.output


def stock(engine) -> dict[str, tuple[int, int]]:
    """sku → (on hand, in transit), as restock sees them."""
    from domain.stock import positions
    from tasks.stock import load_stock_inputs

    inputs = load_stock_inputs(get_settings().warehouse_url)
    held = positions(inputs.ledger, inputs.order_lines, inputs.purchase_orders)
    return {r.sku: (r.on_hand, r.in_transit) for r in held.itertuples()}


def test_receipts_move_stock_on_hand_and_reduce_what_the_po_still_owes(shop, tmp_path):
    purchase_orders(shop, tmp_path)
    assert stock(shop) == {"T-1": (0, 100), "T-2": (0, 40)}

    first = tmp_path / "到货.csv"
    first.write_bytes(f"采购单号,商品编码,到货数量,到货日期,入库单号\nPO-1,T-1,60,{yesterday()},RK-1\n".encode("gbk"))
    done = cli("po", "receive", first)
    assert done.exit_code == 0, done.output
    assert "到货.csv: 1 receipt line(s) posted, 60 unit(s) added to stock on hand; fully received: —." in done.output
    assert stock(shop) == {"T-1": (60, 40), "T-2": (0, 40)}
    assert rows(shop, PurchaseOrder.__table__, "po_no", "status") == [("PO-1", "partially_received")]

    again = cli("po", "receive", first)                            # the same file twice: nothing more
    assert "1 row(s) had been posted before and were skipped" in again.output
    assert stock(shop) == {"T-1": (60, 40), "T-2": (0, 40)}

    rest = tmp_path / "rest.csv"
    rest.write_text(f"po_no,sku,qty,received_on\nPO-1,T-1,40,{yesterday()}\nPO-1,T-2,40,{yesterday()}\n")
    assert cli("po", "receive", rest).exit_code == 0
    assert stock(shop) == {"T-1": (100, 0), "T-2": (40, 0)}
    assert rows(shop, PurchaseOrder.__table__, "po_no", "status") == [("PO-1", "received")]
    assert rows(shop, StockLedgerEntry.__table__, "kind", "sku", "quantity", "reference") == [
        ("receipt", "T-1", 60, "po:PO-1:RK-1"), ("receipt", "T-1", 40, f"po:PO-1:{yesterday().replace('/', '-')}"),
        ("receipt", "T-2", 40, f"po:PO-1:{yesterday().replace('/', '-')}")]


def test_over_receipt_and_unknown_po_or_sku_are_refused_and_nothing_is_received(shop, tmp_path):
    purchase_orders(shop, tmp_path)
    path = tmp_path / "receipts.csv"
    day = yesterday()
    path.write_text(f"po_no,sku,qty,received_on\nPO-1,T-2,10,{day}\nPO-1,T-1,101,{day}\nPO-9,T-1,5,{day}\n"
                    f"PO-1,X-1,5,{day}\n", encoding="utf-8")
    done = cli("po", "receive", path)
    assert done.exit_code == 2
    assert "receipts.csv: 3 problem(s); nothing was stored:" in done.output
    assert ("receipts.csv: row 3, column qty: 101 received, but PO PO-1 still owes 100 of T-1 (ordered 100, "
            "received 0 before): receive at most that") in done.output
    assert "receipts.csv: row 4, column po_no: PO 'PO-9' is not in the warehouse; import it first" in done.output
    assert "receipts.csv: row 5, column sku: 'X-1' is not on PO PO-1 (its lines: T-1, T-2)" in done.output
    assert stock(shop) == {"T-1": (0, 100), "T-2": (0, 40)}            # the good row 2 was not received either
    assert rows(shop, PurchaseOrderLine.__table__, "sku", "qty_received") == [("T-1", 0), ("T-2", 0)]
    assert rows(shop, StockLedgerEntry.__table__, "sku") == []


#: runs of three or more English words: a sentence left untranslated (file names, quoted values,
#: codes and commands are taken out before looking)
ENGLISH_RUN = re.compile(r"[A-Za-z]{2,}(?:[ ,;:()]+[A-Za-z]{2,}){2,}")


def english_runs(output: str, *names: str) -> list[str]:
    for name in names:
        output = output.replace(name, "")
    output = re.sub(r"'[^']*'|shopops [a-z -]+|[A-Z]+-\d+|\d{4}-\d{2}-\d{2}", "", output)
    return ENGLISH_RUN.findall(output)


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_refusal_of_a_file_is_in_the_persons_language(shop, tmp_path, monkeypatch, locale):
    """Issue 23 #9/#2: what went wrong and what to do, for every kind of bad row (an unknown PO, a
    SKU not on it, an over-receipt, a future day, ambiguous and unreadable cells, a repeated
    delivery), in SHOPOPS_LOCALE, with the columns named as the file heads them."""
    purchase_orders(shop, tmp_path)
    tomorrow = f"{datetime.now(ZoneInfo('Asia/Shanghai')).date() + timedelta(days=2):%Y/%m/%d}"
    path = tmp_path / "到货单.csv"
    path.write_bytes((f"采购单号,商品编码,到货数量,到货日期,入库单号\nPO-9,T-1,5,{yesterday()},\nPO-1,X-1,5,{yesterday()},\n"
                      f"PO-1,T-1,101,{yesterday()},\nPO-1,T-2,1,{tomorrow},\nPO-1,T-2,\"12,00\",{yesterday()},\n"
                      f"PO-1,T-2,1e5,{yesterday()},\nPO-1,T-2,1,20/11/2026,\nPO-1,T-2,0,{yesterday()},\n"
                      f"PO-1,T-2,1,{yesterday()},RK-7\nPO-1,T-2,2,{yesterday()},RK-7\n").encode("gbk"))
    monkeypatch.setenv("SHOPOPS_LOCALE", locale)
    done = cli("po", "receive", path)
    assert done.exit_code == 2
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 + 9 + 1                                  # heading, one line per bad row, what to do
    if locale == "zh_CN":
        assert lines[0] == "到货单.csv：有 9 处问题，未导入任何内容："
        assert "  - 到货单.csv：第 4 行“到货数量”列：到货 101，但采购单 PO-1 的 T-1 只剩 100 未到（采购 100，此前已到 0）：" \
               "最多收这么多，其余请另开采购单" in lines
        assert f"  - 到货单.csv：第 5 行“到货日期”列：{tomorrow.replace('/', '-')} 是将来的日期" in lines
        assert english_runs(done.output, path.name) == []
    else:
        assert lines[0] == "到货单.csv: 9 problem(s); nothing was stored:"
        assert ("  - 到货单.csv: row 4, column 到货数量: 101 received, but PO PO-1 still owes 100 of T-1 (ordered 100, "
                "received 0 before): receive at most that, and order the rest on a new PO") in lines
        assert len(english_runs(done.output, path.name)) >= 10      # the check above does find English
    assert stock(shop) == {"T-1": (0, 100), "T-2": (0, 40)}


def test_a_purchase_order_file_with_one_bad_row_stores_nothing(shop, tmp_path):
    catalogue(shop, tmp_path)
    path = write_xlsx(tmp_path / "po.xlsx", PO_HEADER,
                      ["PO-1", "hz-apparel", "HZ01", "2026/11/20", "2026/12/20", "T-1", 100, None],
                      ["PO-2", "hz-apparel", "HZ01", "2026/11/20", "2026/12/20", "GHOST", 5, None],
                      ["PO-3", "hz-apparel", "HZ01", "20/11/2026", None, "T-2", 5, None])
    done = cli("po", "import", path)
    assert done.exit_code == 2
    assert "po.xlsx: row 3, column 商品编码: 'GHOST' is not in the catalogue" in done.output   # headings as written
    assert "po.xlsx: row 4, column 下单日期: '20/11/2026' is not a date written YYYY-MM-DD" in done.output
    assert rows(shop, PurchaseOrder.__table__, "po_no") == [] and rows(shop, PurchaseOrderLine.__table__, "sku") == []


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_templates_are_dressed_and_their_example_rows_load_back(shop, tmp_path, monkeypatch, locale):
    from domain.settlement_inputs import load_inputs
    from tasks.settlement import find_input_files

    monkeypatch.setenv("SHOPOPS_LOCALE", locale)
    folder = tmp_path / "templates"
    done = cli("templates", folder)
    assert done.exit_code == 0, done.output
    names = ["roster", "targets", "expenses", "cs_stats", "shop_channels", "shop_stats", "catalogue",
             "purchase_orders", "po_receipts", "count"]
    assert sorted(p.stem for p in folder.glob("*.xlsx")) == sorted(names)
    for name in names:
        sheet = openpyxl.load_workbook(folder / f"{name}.xlsx").active
        header = [c.value for c in sheet[1]]
        assert sheet.max_row == 2 and all(header), name                       # the header and one example row
        assert all(c.font.bold for c in sheet[1]) and sheet.freeze_panes == "A2", name
        assert all(sheet.column_dimensions[c.column_letter].width >= 6 for c in sheet[1]), name
    roster = openpyxl.load_workbook(folder / "roster.xlsx").active
    assert roster.title == ("人员名单" if locale == "zh_CN" else "Staff roster")
    assert [c.value for c in roster[1]][:3] == (["工号", "姓名", "岗位"] if locale == "zh_CN"
                                                else ["person_id", "name", "role"])

    # each example row through its loader: the settlement's folder, then catalogue → PO → receipt → count
    inputs = load_inputs(**find_input_files(folder))
    assert inputs.staff["role"].tolist() == ["customer_service"] and inputs.targets["target_minor"].tolist() == [5000000]
    for command in (["catalogue", "import", folder / "catalogue.xlsx"], ["po", "import", folder / "purchase_orders.xlsx"],
                    ["po", "receive", folder / "po_receipts.xlsx"], ["stock", "import-count", folder / "count.xlsx"]):
        loaded = cli(*command)
        assert loaded.exit_code == 0, (command, loaded.output)
    assert rows(shop, PurchaseOrderLine.__table__, "sku", "qty_ordered", "qty_received") == [("SKU-0001", 480, 240)]
    assert [kind for kind, in rows(shop, StockLedgerEntry.__table__, "kind")] == ["receipt", "stocktake"]
