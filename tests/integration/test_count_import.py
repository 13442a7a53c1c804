"""A warehouse count is accepted whole or not at all (issue 19 #16): SKUs the catalogue does not
know, warehouses nobody has, a count dated in the future and a workbook with several sheets
of data are refused with the row and column named, and nothing is written."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from tasks.stock import CountFileError, import_count, read_count_file
from warehouse import repository
from warehouse.models import StockLedgerEntry, Stocktake

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
pytestmark = pytest.mark.usefixtures("english")   # the messages matched below are the English ones


@pytest.fixture
def catalogue(engine):
    repository.upsert_skus(engine, pd.DataFrame([{"sku": "A", "name": "A", "default_warehouse": "HZ01"},
                                                 {"sku": "B", "name": "B", "default_warehouse": "GZ02"}]))
    return engine


def written(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.scalar(sa.select(sa.func.count()).select_from(Stocktake.__table__)),
                conn.scalar(sa.select(sa.func.count()).select_from(StockLedgerEntry.__table__)))


def test_unknown_skus_and_warehouses_are_refused_and_nothing_is_written(catalogue, database_url, tmp_path):
    path = tmp_path / "count.csv"
    path.write_text("sku,warehouse,counted_qty\nA,HZ01,3\nGHOST-1,HZ01,5\nB,XX99,2\n", encoding="utf-8")
    count = read_count_file(path, now=NOW)

    with pytest.raises(CountFileError) as err:
        import_count(database_url, count)

    text = str(err.value)
    assert "count.csv: row 3, column sku: 'GHOST-1' is not in the catalogue" in text
    assert "count.csv: row 4, column warehouse: 'XX99' is not a known warehouse (known: GZ02, HZ01)" in text
    assert written(catalogue) == (0, 0)                       # all or nothing: the good row A is not posted either

    path.write_text("sku,warehouse,counted_qty\nA,HZ01,3\nB,GZ02,2\n", encoding="utf-8")
    done = import_count(database_url, read_count_file(path, now=NOW))
    assert done.lines == 2 and written(catalogue) == (2, 2)


def test_a_count_dated_in_the_future_is_refused(tmp_path):
    path = tmp_path / "count.csv"
    later = (NOW + timedelta(hours=2)).isoformat()
    path.write_text(f"sku,warehouse,counted_qty,counted_at\nA,HZ01,3,{later}\n", encoding="utf-8")

    with pytest.raises(CountFileError) as err:
        read_count_file(path, now=NOW)
    assert f"count.csv: row 2, column counted_at: '{later}' is in the future" in str(err.value)

    soon = (NOW + timedelta(minutes=1)).isoformat()          # clocks differ by a minute: within tolerance
    path.write_text(f"sku,warehouse,counted_qty,counted_at\nA,HZ01,3,{soon}\n", encoding="utf-8")
    assert read_count_file(path, now=NOW).counted_at == NOW + timedelta(minutes=1)


def test_a_workbook_with_several_sheets_of_data_is_refused(tmp_path):
    path = tmp_path / "count.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "HZ01"
    book.active.append(["sku", "warehouse", "counted_qty"])
    book.active.append(["A", "HZ01", 3])
    other = book.create_sheet("GZ02")
    other.append(["sku", "warehouse", "counted_qty"])
    other.append(["B", "GZ02", 2])
    book.create_sheet("Sheet3")                                # an empty sheet does not count
    book.save(path)

    with pytest.raises(CountFileError) as err:
        read_count_file(path, now=NOW)
    assert "count.xlsx: the workbook has 2 sheets with data (HZ01, GZ02)" in str(err.value)

    del book["GZ02"]
    book.save(path)
    assert read_count_file(path, now=NOW).counts.to_dict("records") == [
        {"sku": "A", "warehouse": "HZ01", "counted_qty": 3}]


def test_a_count_kept_in_chinese_reads_and_ambiguous_quantities_are_refused(tmp_path):
    """Issue 23 #9: Chinese headings in GBK, a thousands separator; ``1e5`` and ``12,00`` are
    refused with the row and column (Excel's scientific notation is not a count of 100000)."""
    path = tmp_path / "盘点.csv"
    path.write_bytes("商品编码,仓库,盘点数量\nA,HZ01,\"1,200\"\nB,GZ02,7\n".encode("gbk"))
    assert read_count_file(path, now=NOW).counts.to_dict("records") == [
        {"sku": "A", "warehouse": "HZ01", "counted_qty": 1200}, {"sku": "B", "warehouse": "GZ02", "counted_qty": 7}]

    path.write_text("sku,warehouse,counted_qty\nA,HZ01,1e5\nB,GZ02,\"12,00\"\n", encoding="utf-8")
    with pytest.raises(CountFileError) as err:
        read_count_file(path, now=NOW)
    assert "盘点.csv: row 2, column counted_qty: '1e5' is ambiguous: scientific notation" in str(err.value)
    assert "盘点.csv: row 3, column counted_qty: '12,00' is ambiguous" in str(err.value)


def test_a_count_refused_under_zh_cn_says_so_in_chinese_with_the_headings_as_written(catalogue, database_url,
                                                                                     tmp_path, monkeypatch):
    from config.settings import get_settings

    monkeypatch.setenv("SHOPOPS_LOCALE", "zh_CN")
    get_settings.cache_clear()
    path = tmp_path / "盘点.csv"
    path.write_bytes("商品编码,仓库,盘点数量\nA,HZ01,\"12,00\"\nGHOST-1,XX99,5\n".encode("gbk"))
    with pytest.raises(CountFileError) as bad:
        read_count_file(path, now=NOW)
    assert "盘点.csv：第 2 行“盘点数量”列：'12,00' 有歧义" in str(bad.value)
    path.write_bytes("商品编码,仓库,盘点数量\nA,HZ01,3\nGHOST-1,XX99,5\n".encode("gbk"))
    with pytest.raises(CountFileError) as unknown:
        import_count(database_url, read_count_file(path, now=NOW))
    assert str(unknown.value).splitlines() == [
        "盘点.csv：第 3 行“商品编码”列：'GHOST-1' 不在商品档案中；请检查商品编码（笔误、旧编码），或先把它加入商品档案",
        "盘点.csv：第 3 行“仓库”列：'XX99' 不是已知仓库（已有：GZ02, HZ01）；请检查仓库编码，或先在商品档案中把它设为某个 SKU 的默认仓库",
        "请修改上面列出的行后重新导入；本次未保存任何内容。"]
    assert written(catalogue) == (0, 0)
    get_settings.cache_clear()
